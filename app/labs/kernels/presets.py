"""Classic kernels to start from; the directions hold for cross-correlation (the default mode)."""

from __future__ import annotations


def _outer(v: list[float], scale: float) -> list[list[float]]:
    return [[a * b / scale for b in v] for a in v]


def _t(k: list[list[float]]) -> list[list[float]]:
    return [list(r) for r in zip(*k, strict=True)]


SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
SCHARR_X = [[-3.0, 0.0, 3.0], [-10.0, 0.0, 10.0], [-3.0, 0.0, 3.0]]
PREWITT_X = [[-1.0, 0.0, 1.0]] * 3
VERTICAL_EDGE = [[-1.0, 0.0, 1.0]] * 3  # the lecture's template, exactly (the same numbers as Prewitt x)
LAPLACE_8 = [[1.0, 1.0, 1.0], [1.0, -8.0, 1.0], [1.0, 1.0, 1.0]]

PRESETS: list[dict] = [
    {
        "name": "identity",
        "kernel": [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
        "description": "Copies the image unchanged: only the centre pixel counts.",
    },
    {
        "name": "1x1",
        "kernel": [[1.0]],
        "description": "One weight per pixel: scales each value. On one channel it changes nothing; in a"
        " network a 1x1 convolution mixes the channels at each pixel.",
    },
    {
        "name": "box blur 3x3",
        "kernel": [[1 / 9] * 3 for _ in range(3)],
        "description": "Each pixel becomes the plain average of its 3x3 neighbourhood: a soft blur.",
    },
    {
        "name": "box blur 5x5",
        "kernel": [[1 / 25] * 5 for _ in range(5)],
        "description": "The average of the 5x5 neighbourhood: a stronger blur.",
    },
    {
        "name": "gaussian 3x3",
        "kernel": _outer([1.0, 2.0, 1.0], 16.0),
        "description": "A weighted average that counts near pixels more than far ones: a smooth blur"
        " without the boxy look.",
    },
    {
        "name": "gaussian 5x5",
        "kernel": _outer([1.0, 4.0, 6.0, 4.0, 1.0], 256.0),
        "description": "A wider Gaussian-like blur (binomial weights 1 4 6 4 1, summing to 1).",
    },
    {
        "name": "sharpen",
        "kernel": [[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]],
        "description": "Adds to each pixel how much it differs from its four neighbours: edges get crisper.",
    },
    {
        "name": "sobel x",
        "kernel": SOBEL_X,
        "description": "Horizontal change: positive where the image gets brighter to the right, so it"
        " finds vertical edges. Smooths a little along the edge (weights 1 2 1).",
    },
    {
        "name": "sobel y",
        "kernel": _t(SOBEL_X),
        "description": "Vertical change: positive where the image gets brighter downwards, so it finds"
        " horizontal edges. Combine with Sobel x (magnitude) for the outline.",
    },
    {
        "name": "scharr x",
        "kernel": SCHARR_X,
        "description": "Like Sobel x with weights 3 10 3: a more rotation-even estimate of horizontal change.",
    },
    {
        "name": "scharr y",
        "kernel": _t(SCHARR_X),
        "description": "Like Sobel y with weights 3 10 3: vertical change, finds horizontal edges.",
    },
    {
        "name": "prewitt x",
        "kernel": PREWITT_X,
        "description": "Horizontal change with equal weights on the three rows: finds vertical edges.",
    },
    {
        "name": "prewitt y",
        "kernel": _t(PREWITT_X),
        "description": "Vertical change with equal weights on the three columns: finds horizontal edges.",
    },
    {
        "name": "laplacian 4-neighbour",
        "kernel": [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]],
        "description": "The four neighbours minus four times the centre: zero on flat areas and smooth"
        " ramps, strong on thin lines and corners in any direction.",
    },
    {
        "name": "laplacian 8-neighbour",
        "kernel": LAPLACE_8,
        "description": "All eight neighbours minus eight times the centre: like the 4-neighbour Laplacian,"
        " also counting the diagonals.",
    },
    {
        "name": "emboss",
        "kernel": [[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]],
        "description": "Light from the top left: edges facing it get bright, the others dark, like a relief.",
    },
    {
        "name": "outline",
        "kernel": [[-v for v in row] for row in LAPLACE_8],
        "description": "The centre minus its eight neighbours: flat areas go to zero, every edge lights up.",
    },
    {
        "name": "vertical edge",
        "kernel": VERTICAL_EDGE,
        "description": "The lecture's vertical edge template [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]: dark on"
        " the left and bright on the right gives a large positive value, the opposite a large negative one.",
    },
    {
        "name": "horizontal edge",
        "kernel": _t(VERTICAL_EDGE),
        "description": "The lecture's horizontal edge template, the transpose of the vertical one: dark above"
        " and bright below gives a large positive value, the opposite a large negative one.",
    },
]
