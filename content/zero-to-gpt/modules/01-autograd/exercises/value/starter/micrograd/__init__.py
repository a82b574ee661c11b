"""micrograd: a tiny autograd engine (engine.py) and neural networks built on it (nn.py)."""
