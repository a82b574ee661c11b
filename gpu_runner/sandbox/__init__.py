"""The sandbox: bubblewrap-isolated harness processes, a warm pool of them, and job sessions."""
