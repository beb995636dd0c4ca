/**
 * Colour scales, sizes and timings shared by every page. Change the look here, not in the modules.
 *
 * A scale is a list of [position in 0..1, "#rrggbb"] stops, interpolated linearly in sRGB.
 * `diverging` is for signed values and is always used with a domain symmetric around zero, so that
 * zero is the white middle; `sequential` is for values that are never negative (dark = 0). A scale's
 * `label` (what a colour bar says it shows) is in the page's language.
 */

import { t } from "./i18n.js";

export const SCALES = Object.freeze({
  diverging: Object.freeze({
    name: "diverging",
    label: t("blue (negative) – white (0) – red (positive)"),
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
    label: t("dark (0) – bright (high)"),
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
    label: t("black (low) – white (high)"),
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
  /* These keep the sign of what they are given: dark–bright unless a value is negative (heatmap.js's scaleFor). */
  avgpool: "sequential",
  flatten: "sequential",
  dropout: "sequential",
  identity: "sequential",
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
  /**
   * The pad's updates while a stroke is in progress: float16, half the bytes, maps that look the same (a
   * relative error of 1/2048, below one step of a colour scale). The update sent after the stroke ends
   * asks for `dtype`, so the values left on screen are exact.
   */
  strokeDtype: "float16",
  /** Uploads and drawings go through the model's own preprocessing (digit: MNIST-like; resize). */
  preprocess: "auto",
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
  /** Padding cells around the input in the receptive-field view, at least (more when a field reaches further out). */
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
  /** CSS px per weight of a filter that sees one channel (LeNet's conv1: 5x5) and of a row of kernels (conv2). */
  conv1CellPx: 12,
  conv2CellPx: 5,
  /** The same for 3x3 kernels (a VGG's), which would be too small to read at the sizes above. */
  smallCellPx: 16,
  smallKernelCellPx: 7,
  /** A conv layer's filters drawn at first (a button shows the rest), and kernels per row of one filter. */
  filtersShown: 64,
  kernelsPerRow: 32,
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
  /** The BN-against-no-BN comparison: the same network and recipe, with and without BatchNorm (model names). */
  compare: Object.freeze(["lenet_bn", "lenet"]),
  defaultSamples: 64,
  maxBatch: 256,
  /** Heights of the per-channel bar charts and of the training-curve charts, CSS px (SVG user units). */
  barHeight: 120,
  lineHeight: 280,
});

/** The training page (/training): the timeline's charts, the filters, the digit's maps, playback. */
export const TRAINING_PAGE = Object.freeze({
  colors: Object.freeze({
    loss: "#c2410c",
    accuracy: "#2f62b8",
    cursor: "#1d2433",
    /** The drift view: a layer's own output, and what its BatchNorm hands on. */
    output: "#c2410c",
    after: "#2f62b8",
    /** The ReLU comparison: one colour per model. */
    withRelu: "#2f62b8",
    withoutRelu: "#7c3aed",
  }),
  /** Chart margins (CSS px; charts are drawn at their on-screen width, so text keeps its size on a phone). */
  margin: Object.freeze({ top: 12, right: 14, bottom: 40, left: 56 }),
  /** Heights of the loss and accuracy charts, a drift panel and the ReLU comparison, CSS px. */
  curveHeight: 150,
  driftHeight: 150,
  compareHeight: 220,
  /** Axis tick text, CSS px (never below 11: readable on a phone). */
  tickPx: 12,
  /** The models the drift view sets side by side, and the two the ReLU comparison measures. */
  drift: Object.freeze(["lenet_bn", "lenet"]),
  withRelu: "lenet_bn",
  withoutRelu: "lenet_bn_norelu",
  /** Test accuracies closer than this count as the same (the ReLU comparison's verdict). */
  sameWithin: 0.001,
  /** Milliseconds per checkpoint while playing. */
  playMs: 900,
  /** Requests in flight while prefetching every checkpoint's filters. */
  prefetch: 4,
  /** CSS px per weight: the first conv layer's filters (LeNet's 5x5) and the second's kernels; the same for 3x3. */
  conv1CellPx: 10,
  conv2CellPx: 8,
  smallCellPx: 14,
  smallKernelCellPx: 8,
  /** Kernels per row of the second layer's filter (one per input channel). */
  kernelsPerRow: 10,
  /** The maps: target side of one map, CSS px (the layers offered are the model's conv and pooling layers). */
  mapPx: 56,
  /** Side of the drawing pad on screen, CSS px (its canvas keeps SIZES.padPx). */
  padPx: 168,
});
