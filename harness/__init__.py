"""What both the tests and the benchmarks need to run ConvLens for real: ``convlens serve`` on a free
port (``harness.server``), Debian's Chromium and its launch arguments (``harness.chromium``), multipart
request bodies (``harness.multipart``).

It is its own package so that neither ``tests/`` nor ``bench/`` imports the other: tests must not
depend on benchmark code, and benchmarks must not depend on test code. It is not part of the app (the
Docker image does not contain it) and imports nothing from ``tests`` or ``bench``.
"""
