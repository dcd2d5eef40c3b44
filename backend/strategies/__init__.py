"""Built-in strategies: one module each, found by :mod:`backend.strategies.registry`."""
