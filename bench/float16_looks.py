"""What float16 maps change on screen: the explorer's colour index of every value, float32 against float16.

    .venv/bin/python -m bench.float16_looks [--every 9]

The page paints a value v of a map with colour ``round((v - lo) / (hi - lo) * 254)`` of a 255-entry table
(static/js/heatmap.js ``lutIndex``, config.js ``LUT_SIZE``). For every ``--every``-th of bench/classroom.py's
drawings, POST /api/activations answers it in float32 and in float16 (in process, TestClient); for each layer
this counts the values whose colour index differs, with the domain taken two ways: the layer's own
[-m, m] from the answer's min and max (the same for both dtypes: they are computed from float32), and each
map's extent of its decoded values (which float16 moves too). Diverging (symmetric) domains throughout.
"""

from __future__ import annotations

import argparse

import numpy as np
from fastapi.testclient import TestClient

from app.main import create_app
from app.serving.encoding import decode
from bench import classroom

LUT_SIZE = 255  # static/js/config.js


def colour(values: np.ndarray, m: float) -> np.ndarray:
    """heatmap.js lutIndex over the domain [-m, m] (np.round halves to even where JS rounds them up: a tie
    needs a value exactly between two colours, which the counts below never met)."""
    if m <= 0:
        return np.full(values.shape, (LUT_SIZE - 1) // 2)
    return np.clip(np.round((values + m) / (2 * m) * (LUT_SIZE - 1)), 0, LUT_SIZE - 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--every", type=int, default=9)
    args = p.parse_args()
    bodies = classroom.drawings()[:: args.every]
    counts: dict[tuple[str, str], list[int]] = {}
    headers = {"content-type": "application/json"}
    with TestClient(create_app()) as client:
        for body in bodies:
            full = client.post("/api/activations?dtype=float32", content=body, headers=headers).json()["layers"]
            half = client.post("/api/activations?dtype=float16", content=body, headers=headers).json()["layers"]
            for a, h in zip(full, half, strict=True):
                maps32 = decode(a["data"], a["shape"]).astype(np.float64).reshape(a["shape"][0], -1)
                maps16 = decode(h["data"], h["shape"], "float16").astype(np.float64).reshape(maps32.shape)
                if len(a["shape"]) == 1:  # a vector: one strip
                    maps32, maps16 = maps32.reshape(1, -1), maps16.reshape(1, -1)
                layer_m = max(abs(a["min"]), abs(a["max"]))
                for m32, m16 in zip(maps32, maps16, strict=True):
                    for domain, ms in (("layer", (layer_m, layer_m)), ("map", (np.abs(m32).max(), np.abs(m16).max()))):
                        steps = np.abs(colour(m32, ms[0]) - colour(m16, ms[1]))
                        c = counts.setdefault((a["name"], domain), [0, 0, 0])
                        c[0] += int((steps > 0).sum())
                        c[1] += steps.size
                        c[2] = max(c[2], int(steps.max()))
    print(f"{len(bodies)} drawings; values whose colour differs between float32 and float16 maps\n")
    print("| layer | layer's domain: values off | largest step | each map's domain: values off | largest step |")
    print("|---|---:|---:|---:|---:|")
    for name in dict.fromkeys(name for name, _ in counts):
        lay, own = counts[(name, "layer")], counts[(name, "map")]
        print(f"| {name} | {lay[0] / lay[1]:.2%} | {lay[2]} | {own[0] / own[1]:.2%} | {own[2]} |")


if __name__ == "__main__":
    main()
