"""The labs: the kernel lab, a hand-made conv1 filter in the network, the BatchNorm lab, 1x1 channel mixing,
explanations of a prediction and the test digits that excite each channel."""
