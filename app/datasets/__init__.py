"""The data: the MNIST IDX reader and the committed test set served as sample digits."""
