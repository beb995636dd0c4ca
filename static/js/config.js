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
