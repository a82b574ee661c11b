"""`fromscratch`: work on From Scratch exercises in your own editor, terminal or notebook."""
