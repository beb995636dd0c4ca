"""Which route for ONNX files: rebuilding the graph as torch modules (ConvLens' importer, and onnx2torch), or
running it in ONNX Runtime with every node's output exposed. Measured on ONNX's own test models and on three
small networks (``python -m bench.onnx_route``; results in docs/models.md).

1. ONNX's node tests (generated in memory from the cases the ``onnx`` wheel ships, as ``backend-test-tools
   generate-data`` would write them) with one node of the operators a CNN classifier is made of, and the
   wheel's ``pytorch-converted`` models of those layers. A node test passes its weights as graph inputs;
   a trained model stores them, so every input but the first is stored in the file (an initializer) before
   the converters see it. Each route's output is compared with the test's expected output: within 1e-5 of its
   largest magnitude is "exact"; else "differs"; a refusal with a reason is "refused"; anything else "error".
2. Speed and agreement on a LeNet, a residual network and a colour network (at 32 x 32 and at 224 x 224)
   exported with torch's ONNX exporter: one image on one thread (as the server runs), every layer's output
   (what the API serves) from the rebuilt network and from ONNX Runtime with all node outputs exposed, and
   the output alone.

onnx2torch is measured when it is installed (``pip install --no-deps onnx2torch==1.5.15``): it imports
torchvision for two operators (NMS, RoIAlign) none of these models use, and torchvision does not install beside
this torch, so a stand-in module is put in its place for the measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
import types
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper

from app.importing import onnx_graph
from app.importing.emit import ImportFailure
from app.importing.reference import layer_origins, relative_error
from app.nets import graphspec
from app.nets.network import InputSpec, Network

OPS = ("Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "Gemm",
       "Relu", "Flatten", "Add", "Concat")  # fmt: skip
CONVERTED = ("Conv", "ConvTranspose", "MaxPool", "AvgPool", "BatchNorm", "Linear", "ReLU")  # pytorch-converted
TOLERANCE = 1e-5
Case = tuple[str, str, onnx.ModelProto, list[np.ndarray], np.ndarray]  # (op, name, model, inputs, expected)


def node_cases() -> Iterator[Case]:
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    for case in cases:
        nodes = case.model.graph.node
        if len(nodes) == 1 and nodes[0].op_type in OPS and case.data_sets and len(case.data_sets[0][1]) >= 1:
            inputs, outputs = case.data_sets[0]
            yield nodes[0].op_type, case.name, case.model, list(inputs), np.asarray(outputs[0])


def converted_cases() -> Iterator[Case]:
    root = Path(onnx.__file__).parent / "backend" / "test" / "data" / "pytorch-converted"
    for folder in sorted(root.iterdir()):
        if not folder.name.removeprefix("test_").startswith(CONVERTED):
            continue
        model = onnx.load(str(folder / "model.onnx"))
        data = folder / "test_data_set_0"
        inputs = [numpy_helper.to_array(onnx.load_tensor(str(p))) for p in sorted(data.glob("input_*.pb"))]
        expected = numpy_helper.to_array(onnx.load_tensor(str(data / "output_0.pb")))
        op = next((n.op_type for n in model.graph.node if n.op_type in OPS), model.graph.node[0].op_type)
        yield op, folder.name, model, inputs, expected


def stored(model: onnx.ModelProto, inputs: list[np.ndarray]) -> onnx.ModelProto:
    """The model with every graph input but the first stored in the file, as a trained model's weights are."""
    frozen = onnx.ModelProto()
    frozen.CopyFrom(model)
    names = [i.name for i in frozen.graph.input if i.name not in {t.name for t in frozen.graph.initializer}]
    for name, value in zip(names[1:], inputs[1:], strict=False):
        frozen.graph.initializer.append(numpy_helper.from_array(value, name))
    keep = [i for i in frozen.graph.input if i.name not in names[1:]]
    del frozen.graph.input[:]
    frozen.graph.input.extend(keep)
    return frozen


def verdict(run: Callable[[], np.ndarray], expected: np.ndarray, refusals: tuple[type, ...] = ()) -> tuple[str, str]:
    try:
        got = np.asarray(run())
    except refusals as exc:
        return "refused", str(exc).split(": ", 1)[-1][:90]
    except Exception as exc:  # a route that breaks on a valid model
        return "error", f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:80] if str(exc).strip() else ''}"
    if got.shape != expected.shape:
        return "differs", f"shape {got.shape} for {expected.shape}"
    error = relative_error(torch.from_numpy(got.astype(np.float64)), torch.from_numpy(expected.astype(np.float64)))
    return ("exact", "") if error <= TOLERANCE else ("differs", f"{error:.1e} of the largest value")


def ours(model: onnx.ModelProto, x: np.ndarray, folder: Path) -> np.ndarray:
    path = folder / "model.onnx"
    onnx.save(model, str(path))
    example = torch.from_numpy(np.ascontiguousarray(x))
    cfg, state = onnx_graph.convert(path, example, 0)
    module = graphspec.build(cfg)
    module.load_state_dict(state)
    with torch.no_grad():
        return module.eval()(example).numpy()


def runtime(model: onnx.ModelProto, inputs: list[np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs, strict=False)))[0]


def load_onnx2torch() -> Any:
    try:
        import onnx2torch
    except ModuleNotFoundError as exc:
        if exc.name != "torchvision":
            return None
        stand_in = types.ModuleType("torchvision")
        stand_in.ops = types.ModuleType("torchvision.ops")  # type: ignore[attr-defined]
        for name in ("nms", "roi_align", "box_convert"):
            setattr(stand_in.ops, name, None)  # type: ignore[attr-defined]
        sys.modules.update({"torchvision": stand_in, "torchvision.ops": stand_in.ops})  # type: ignore[attr-defined]
        try:
            import onnx2torch
        finally:  # torch's own ONNX exporter looks for torchvision too: it must not find the stand-in
            del sys.modules["torchvision"], sys.modules["torchvision.ops"]
    return onnx2torch


def by_o2t(o2t: Any, model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = o2t.convert(model)(torch.from_numpy(np.ascontiguousarray(x)))
    return (out[0] if isinstance(out, list | tuple) else out).numpy()


def coverage(cases: list[Case], o2t: Any) -> None:
    routes = ["ConvLens", "ONNX Runtime", *(["onnx2torch"] if o2t else [])]
    counts: dict[str, Counter] = defaultdict(Counter)
    notes: dict[str, list[str]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for op, name, model, inputs, expected in cases:
            frozen, x = stored(model, inputs), inputs[0]
            results = {
                "ConvLens": verdict(lambda f=frozen, x=x: ours(f, x, Path(tmp)), expected, (ImportFailure,)),
                "ONNX Runtime": verdict(lambda m=model, i=inputs: runtime(m, i), expected),
            }
            if o2t:
                results["onnx2torch"] = verdict(lambda f=frozen, x=x: by_o2t(o2t, f, x), expected)
            counts[op]["cases"] += 1
            for route, (outcome, why) in results.items():
                counts[op][f"{route} {outcome}"] += 1
                if outcome != "exact":
                    notes[route].append(f"{name}: {outcome} {why}")
    print("| operator | models | " + " | ".join(f"{r} exact" for r in routes) + " |")
    print("|---|---|" + "---|" * len(routes))
    for op in sorted(counts, key=lambda o: OPS.index(o) if o in OPS else len(OPS)):
        exact = [str(counts[op][f"{r} exact"]) for r in routes]
        print(f"| {op} | {counts[op]['cases']} | " + " | ".join(exact) + " |")
    totals = [sum(c[f"{r} exact"] for c in counts.values()) for r in routes]
    print(f"| all | {sum(c['cases'] for c in counts.values())} | " + " | ".join(map(str, totals)) + " |")
    for route in routes:
        print(f"\n{route}, not exact ({len(notes[route])}):")
        for line in notes[route]:
            print(f"  {line}")


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def median_ms(fn: Callable[[], Any], calls: int) -> float:
    fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def speed(rounds: int, calls: int) -> None:
    from tests.importing import CASES, build, export_onnx

    o2t = load_onnx2torch()
    print("| network | rebuilt: every layer | ORT: every node's output | ORT: output only | onnx2torch: output |"
          " largest layer difference, rebuilt vs ORT |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory() as tmp, one_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chosen = [c for c in CASES if c.name in ("lenet", "resnet", "rgb")]
        large = replace(next(c for c in chosen if c.name == "rgb"), shape=(3, 224, 224))  # global pooling: any size
        for case in [*chosen, large]:
            path = export_onnx(build(case.make), case.shape, Path(tmp) / f"{case.name}{case.shape[1]}.onnx")
            x = torch.rand(1, *case.shape, generator=torch.Generator().manual_seed(0))
            cfg, state = onnx_graph.convert(path, x.repeat(2, 1, 1, 1), 0)
            module = graphspec.build(cfg)
            module.load_state_dict(state)
            c = case.shape[0]
            network = Network(
                module.eval(), InputSpec(case.shape, (0.0,) * c, (1.0,) * c), [""] * cfg_classes(module, x)
            )
            everything = onnx_graph.read(path)
            names = list(dict.fromkeys(layer_origins(cfg).values()))
            known = {o.name for o in everything.graph.output}
            everything.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names if n not in known)
            all_out = ort.InferenceSession(everything.SerializeToString(), options, providers=["CPUExecutionProvider"])
            plain = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            feed = {plain.get_inputs()[0].name: x.numpy()}
            routes: dict[str, Callable[[], Any]] = {
                "rebuilt": lambda network=network, x=x: network.intermediates(x),
                "ort_all": lambda s=all_out, f=feed: s.run(None, f),
                "ort": lambda s=plain, f=feed: s.run(None, f),
            }
            o2t_failure = "not installed"
            if o2t:
                try:
                    converted = o2t.convert(onnx.load(str(path))).eval()
                    routes["o2t"] = lambda m=converted, x=x: m(x)
                except NotImplementedError as exc:
                    o2t_failure = f"cannot convert: {str(exc).split('operation_type=')[-1].rstrip(')')}"
            times: dict[str, list[float]] = defaultdict(list)
            with torch.inference_mode():
                for _ in range(rounds):  # interleaved, so a busy moment of the machine hits every route
                    for key, fn in routes.items():
                        times[key].append(median_ms(fn, calls))
                ours_all = network.intermediates(x)
            theirs = dict(zip([o.name for o in all_out.get_outputs()], all_out.run(None, feed), strict=True))
            worst = max(relative_error(ours_all[layer], torch.from_numpy(theirs[origin]))
                        for layer, origin in layer_origins(cfg).items())  # fmt: skip
            cell = {k: f"{statistics.median(v):.3f} ms" for k, v in times.items()}
            print(f"| {case.name} {'x'.join(map(str, case.shape))} | {cell['rebuilt']} | {cell['ort_all']} |"
                  f" {cell['ort']} | {cell.get('o2t', o2t_failure)} | {worst:.1e} |")  # fmt: skip


def cfg_classes(module: torch.nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad():
        return int(module(x).shape[1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.onnx_route", description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the speed measurement")
    p.add_argument("--calls", type=int, default=50, help="forward passes per round (the median is kept)")
    p.add_argument("--skip-speed", action="store_true")
    args = p.parse_args(argv)
    ort.set_default_logger_severity(3)  # old opsets in the wheel's models: warnings only
    o2t = load_onnx2torch()
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, torch {torch.__version__}, onnx2torch "
          f"{getattr(o2t, '__version__', 'installed') if o2t else 'not installed'}\n")  # fmt: skip
    print("ONNX node tests (one node):")
    coverage(list(node_cases()), o2t)
    print("\nThe wheel's pytorch-converted models:")
    coverage(list(converted_cases()), o2t)
    if not args.skip_speed:
        print("\nOne image, one thread, median per call:")
        speed(args.rounds, args.calls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
