"""The kernel lab's core: slide small hand-made kernels (or a pooling window) over a whole image.

Plain functions on tensors: no HTTP, no pydantic. Invalid values raise ``ValueError`` whose message
starts with the name of the spec field at fault; a result over the size limit raises ``TooLarge``
(with ``status = 413``). One idea per module:

- ``limits``: the limits, the kernel checks and ``TooLarge`` (what the API schemas share with the core);
- ``geometry``: the output-size arithmetic (``Axis``, ``Geometry``; "same" padding is ``same_padding``);
- ``images``: decoded images -> (C, H, W) float32 in [0, 1], "gray" (Pillow's "L") or "rgb";
- ``convolution``: padding and sliding the kernels, cross-correlation or convolution (flipped kernel);
- ``pooling``: max and average pooling;
- ``display``: the scale from values to grey levels, and a fast PNG encoder;
- ``presets``: classic kernels to start from.

Output size per axis: floor((W - K + P_before + P_after) / S) + 1, the lecture's (W - K + 2P) / S + 1
rounded down when it is not a whole number: the last window stops before the end of the padded input
and the rows/columns past it are never looked at.
"""
