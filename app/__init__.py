"""ConvLens: look inside a trained convolutional network (``app.main:app``; ``python -m app``).

torch runs its intra-op threads with OpenMP, whose threads by default spin for a while when they wait for
work. On a machine whose cores are busy with other processes that goes badly: a spinning thread holds a
core its partner needs, and a LeNet forward pass on 2 threads took about 230 ms instead of 0.6 ms
(docs/benchmarks.md). ``OMP_WAIT_POLICY=PASSIVE`` makes them sleep instead. OpenMP reads it once, when
torch loads, so it is set here, before anything in the app imports torch; a value already in the
environment wins.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
