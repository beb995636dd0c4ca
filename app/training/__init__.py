"""Training the LeNet on MNIST (``convlens train``) and its helpers (stroke-width augmentation)."""
