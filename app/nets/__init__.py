"""The networks and their introspection: the LeNet and its layer table, checkpoints, receptive fields and
BatchNorm folding."""
