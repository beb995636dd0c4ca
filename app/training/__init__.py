"""Training helpers."""
