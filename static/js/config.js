/**
 * Colour scales, sizes and timings shared by every page. Change the look here, not in the modules.
 *
 * A scale is a list of [position in 0..1, "#rrggbb"] stops, interpolated linearly in sRGB.
 * `diverging` is for signed values and is always used with a domain symmetric around zero, so that
 * zero is the white middle; `sequential` is for values that are never negative (dark = 0).
 */

export const SCALES = Object.freeze({
  diverging: Object.freeze({
    name: "diverging",
    label: "blue (negative) – white (0) – red (positive)",
    stops: [
      [0.0, "#16327a"],
      [0.18, "#2f62b8"],
      [0.36, "#8fb3e3"],
      [0.5, "#f7f7f5"],
      [0.64, "#efad93"],
      [0.82, "#cf4d34"],
      [1.0, "#6e1020"],
    ],
  }),
  sequential: Object.freeze({
    name: "sequential",
    label: "dark (0) – bright (high)",
    stops: [
      [0.0, "#05050f"],
      [0.2, "#2c1160"],
      [0.4, "#6a1c81"],
      [0.6, "#b5367a"],
      [0.78, "#f3705d"],
      [0.9, "#fdb47d"],
      [1.0, "#fcf6c2"],
    ],
  }),
  /** Plain grey levels: images, and outputs that are never negative (the kernel lab). */
  gray: Object.freeze({
    name: "gray",
    label: "black (low) – white (high)",
    stops: [
      [0.0, "#000000"],
      [1.0, "#ffffff"],
    ],
  }),
});

/** Which scale each layer kind uses (signed kinds diverge around zero). */
export const KIND_SCALE = Object.freeze({
  input: "sequential",
  conv: "diverging",
  batchnorm: "diverging",
  linear: "diverging",
  relu: "sequential",
  maxpool: "sequential",
  softmax: "sequential",
});

/** Entries in a colour look-up table (odd, so a symmetric domain puts 0 exactly on the middle entry). */
export const LUT_SIZE = 255;

export const SIZES = Object.freeze({
  /** Target on-screen side of one feature map, CSS px (rounded to a whole number of px per cell). */
  mapPx: 72,
  /** Never show a map cell smaller than this many CSS px. */
  minCellPx: 2,
  /** Side of a filter tile shown beside its map, CSS px. */
  filterPx: 40,
  /** Columns of the wrapped strip that shows a long vector layer (fc1, bn3, relu3: 500 units). */
  vectorColumns: 50,
  /** Vectors this short (fc2, probs) are drawn as labelled bars instead of a strip. */
  barsUpTo: 16,
  /** Side of the enlarged map in the inspector, CSS px (shrinks to fit narrow screens). */
  inspectorPx: 336,
  /** Maps with at most this many cells show their numbers in the inspector (pool2: 5x5). */
  numbersUpTo: 100,
  /** Drawing pad: side in canvas px, the grid it is reduced to, and the brush range in canvas px. */
  padPx: 280,
  padGrid: 28,
  brush: Object.freeze({ min: 8, max: 40, initial: 22 }),
  /** Width of a colour bar's gradient, canvas px. */
  colorbarPx: 256,
});

export const TIMING = Object.freeze({
  /** At most one pad request in flight, and at least this long between two of them, ms. */
  strokeIntervalMs: 30,
});

export const API_DEFAULTS = Object.freeze({
  /** float32 keeps the readout exact; float16 would halve the body. */
  dtype: "float32",
  preprocess: "mnist",
});

/** Readout precision: decimals shown for an exact value. */
export const DECIMALS = 6;

/** The kernel lab (GET /kernels). */
export const KERNEL_LAB = Object.freeze({
  /** Kernel sizes offered by the grid (the API takes up to 15x15). */
  sizes: [1, 3, 5, 7],
  /** Larger images are scaled down in the browser to this many pixels on the longer side. */
  maxSide: 512,
  /** Wait this long after the last change before asking the server, ms. */
  debounceMs: 120,
  /** conv1's kernel side and filter count: a kernel up to this size can replace one of its filters. */
  conv1Size: 5,
  conv1Filters: 20,
  /** Decimals of the step-through's numbers. */
  stepDecimals: 4,
});

/** Model insight in the explorer: receptive fields, explanations, top-activating digits. */
export const INSIGHT = Object.freeze({
  /** Padding cells drawn around the 28x28 input in the receptive-field view (pool2's field reaches 2 past the edge). */
  paddingCells: 3,
  /** Side of the input (with its padding) in the receptive-field view, and of the effective-field map, CSS px. */
  fieldPx: 252,
  /** Side of the explanation overlay, CSS px. */
  explainPx: 252,
  /** Wait this long after the last new result before asking for an explanation, ms (drawing stays fast). */
  explainDelayMs: 200,
  /** Initial overlay opacity, percent. */
  opacity: 70,
  /** Side of one top-activating digit, CSS px. */
  topPx: 84,
});

/** The model page (/model): filter tiles, the 1x1 demo and the training-curve chart. */
export const MODEL_PAGE = Object.freeze({
  /** CSS px per weight of a conv1 filter (5x5) and of a conv2 kernel row. */
  conv1CellPx: 12,
  conv2CellPx: 5,
  /** Side of one map of the 1x1 demo, CSS px. */
  mixMapPx: 84,
  /** Outputs of the 1x1 demo at first (the largest comes from GET /api/mix/limits). */
  mixOutputs: 4,
  /** Size of the kernel the 1x1 layer is compared with. */
  compareKernel: 5,
  /** Training-curve chart, CSS px. */
  chart: Object.freeze({ width: 520, height: 240, margin: Object.freeze({ top: 14, right: 16, bottom: 38, left: 52 }) }),
  /** Size of a misclassified digit in the confusion-cell list, CSS px. */
  digitPx: 56,
});

/** The BatchNorm page: one colour per network (curves, legends), the batch lab's sizes. */
export const BN_PAGE = Object.freeze({
  colors: Object.freeze({ batchnorm: "#2f62b8", plain: "#c2410c", running: "#1d2433", batch: "#8fb3e3" }),
  defaultSamples: 64,
  maxBatch: 256,
  /** Heights of the per-channel bar charts and of the training-curve charts, CSS px (SVG user units). */
  barHeight: 120,
  lineHeight: 280,
});
