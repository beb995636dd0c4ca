"""The draw pad's request, step by step, in one process: what docs/benchmarks.md ("Students served", third
and fourth rounds) says of its parts.

    .venv/bin/python -m bench.draw_steps [--before DIR] [--seconds 3]

- reading a body: pydantic's ``PixelsRequest`` against ``inputs.plain_pixels``;
- preparing a drawing (``preprocess.from_pixels``), here and, with ``--before``, in the checkout DIR (a
  separate interpreter, the same drawings);
- the forward pass of 8 drawings in a thread while another thread runs Python without a pause (as the event
  loop does under load): passes a second by the Python pass and by the TorchScript one, and how far each slows
  the Python thread;
- the batch thread's whole work for 8 drawings (forward pass, layer table, the 8 answers encoded with float16
  maps) beside such a thread: the Python path (``tabulate`` of ``forward``, each answer converted) against the
  table pass (app.serving.table_pass: one compiled call);
- one answer's values (every layer) converted to float16: numpy's ``astype`` against ``encoding.wire_bytes``.

The drawings are bench/classroom.py's (450 half-drawn digits); times are means over all of them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from bench import classroom

PREPARE = """
import sys, time, numpy as np, orjson
sys.path.insert(0, ".")
from bench import classroom
from app import preprocess
drawings = [np.asarray(orjson.loads(b)["pixels"], np.float32) for b in classroom.drawings()]
for d in drawings: preprocess.from_pixels(d)
start = time.perf_counter()
for _ in range(5):
    for d in drawings: preprocess.from_pixels(d)
print((time.perf_counter() - start) / (5 * len(drawings)) * 1e6)
"""


def mean_us(step: Callable[[bytes], object], bodies: list[bytes], rounds: int = 5) -> float:
    for body in bodies:
        step(body)
    start = time.perf_counter()
    for _ in range(rounds):
        for body in bodies:
            step(body)
    return (time.perf_counter() - start) / (rounds * len(bodies)) * 1e6


def prepare_us(root: Path) -> float:
    out = subprocess.run([sys.executable, "-c", PREPARE], cwd=root, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def busy_python(seconds: float) -> int:
    """Loop iterations of plain Python in ``seconds`` (the GIL held all along but for the switches)."""
    end, n = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        n += 1
    return n


def beside_python(run: Callable[[torch.Tensor], object], x: torch.Tensor, seconds: float) -> tuple[float, float]:
    """(passes a second of ``run`` in a thread, the Python thread's iterations as a share of alone)."""
    alone = busy_python(seconds)
    stop, passes = threading.Event(), [0]

    def loop() -> None:
        with torch.inference_mode():
            while not stop.is_set():
                run(x)
                passes[0] += 1

    thread = threading.Thread(target=loop)
    thread.start()
    shared = busy_python(seconds)
    stop.set()
    thread.join()
    return passes[0] / seconds, shared / alone


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", type=Path, help="a checkout to time the preparation of a drawing in too")
    p.add_argument("--seconds", type=float, default=3.0)
    args = p.parse_args()

    from app.config import Settings
    from app.datasets.samples import Datasets
    from app.routes.activations import answer
    from app.routes.inputs import plain_pixels
    from app.schemas.network import PixelsRequest
    from app.serving import encoding
    from app.serving.inference import Registry
    from app.serving.layers import tabulate

    torch.set_num_threads(1)
    bodies = [b.encode() for b in classroom.drawings()]
    print(f"{len(bodies)} drawings, {np.mean([len(b) for b in bodies]):.0f} bytes each on average\n")
    pydantic = mean_us(lambda b: np.asarray(PixelsRequest.model_validate_json(b).pixels, np.float32), bodies)
    print(f"reading a body: PixelsRequest {pydantic:.1f} us, plain_pixels {mean_us(plain_pixels, bodies):.1f} us")
    print(f"preparing a drawing: {prepare_us(Path.cwd()):.1f} us here", end="")
    print(f", {prepare_us(args.before):.1f} us in {args.before}" if args.before else "")

    settings = Settings.from_env()
    served = Registry(settings.model_dirs, settings.default_model, Datasets(settings.data_dir)).get()
    network = served.model
    x = network.normalize(torch.rand(8, *network.input.shape, generator=torch.Generator().manual_seed(0)))
    print(f"\n{served.name}, batches of 8, one torch thread, beside a thread running Python:")
    for name, run in (("Python pass", network._row_by_row), ("TorchScript pass", served.rows)):
        if run is None:
            print(f"  {name}: not compiled")
            continue
        rate, share = beside_python(run, x, args.seconds)
        print(f"  {name}: {rate:.0f} passes/s; the Python thread kept {share:.0%} of its speed alone")

    images = list(torch.rand(8, 1, *network.input.shape, generator=torch.Generator().manual_seed(1)))
    names = served.layer_names
    row = served.table_pass(images[:1]).flat[0] if served.table_pass else np.zeros(1, np.float32)  # every layer
    numpy_us = mean_us(lambda _: row.astype("<f2"), [b""], rounds=2000)
    torch_us = mean_us(lambda _: encoding.wire_bytes(row, "float16"), [b""], rounds=2000)
    print(
        f"\none answer's {row.size:,} values to float16: numpy astype {numpy_us:.1f} us, wire_bytes {torch_us:.1f} us"
    )

    def python_path(_: object) -> object:
        table = tabulate(served.forward(torch.cat(images)), names)
        return [answer(served, table.row(i), names, "float16") for i in range(len(images))]

    def table_pass(_: object) -> object:
        assert served.table_pass is not None, "no table pass for this model"
        table = served.table_pass(images)
        return [answer(served, table.row(i), names, "float16") for i in range(len(images))]

    print(
        f"\n{served.name}, the batch thread's work for 8 drawings with float16 answers, beside a thread running Python:"
    )
    for name, work in (("Python path", python_path), ("table pass", table_pass)):
        with torch.inference_mode():
            alone = mean_us(work, [b""], rounds=200) / 1000
        rate, share = beside_python(work, x, args.seconds)
        print(
            f"  {name}: {1000 / max(rate, 1e-9):.1f} ms a batch ({alone:.1f} ms alone);"
            f" the Python thread kept {share:.0%} of its speed alone"
        )


if __name__ == "__main__":
    main()
