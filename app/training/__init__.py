"""Training the LeNet on MNIST (``convlens train``)."""
