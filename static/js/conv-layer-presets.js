/**
 * Filters for the conv-layer tab: each makes the Cin kernels (K x K) of one filter, so that it has the
 * input's depth. Pure functions. `name` is the preset's id; `title` and `description` are in the page's language.
 *
 *   const weights = BANK_PRESETS[0].make(5, 3);   // 3 kernels of 5 x 5
 */

import { t } from "./i18n.js";
import { copy, identity, resized, zeros } from "./kernel-math.js";

const SOBEL_X = [
  [-1, 0, 1],
  [-2, 0, 2],
  [-1, 0, 1],
];
const VERTICAL = [
  [-1, 0, 1],
  [-1, 0, 1],
  [-1, 0, 1],
];
const LUMINANCE = [0.299, 0.587, 0.114];
export const CHANNEL_NAMES = { 3: ["R", "G", "B"], 1: [t("grey")] };

const scaled = (kernel, w) => kernel.map((row) => row.map((v) => Number((v * w).toFixed(6))));
const negated = (kernel) => kernel.map((row) => row.map((v) => (v === 0 ? 0 : -v)));

function only(channel, label, title, description) {
  return {
    name: `one channel only: ${label}`,
    title,
    depth: 3,
    description,
    make: (k) => [0, 1, 2].map((c) => (c === channel ? identity(k) : zeros(k))),
  };
}

export const BANK_PRESETS = [
  {
    name: "red-vs-green vertical edge",
    title: t("red-vs-green vertical edge"),
    depth: 3,
    description: t("The lecture's vertical edge template on R and its negative on G: large where red grows and green falls from left to right; blue is ignored."),
    make: (k) => [resized(VERTICAL, k), resized(negated(VERTICAL), k), zeros(k)],
  },
  {
    name: "Sobel on all channels",
    title: t("Sobel on all channels"),
    depth: 0,
    description: t("Sobel x on every channel: summed over the depth, it is Sobel x of R + G + B, an edge detector that ignores colour."),
    make: (k, cin) => Array.from({ length: cin }, () => resized(SOBEL_X, k)),
  },
  {
    name: "luminance",
    title: t("luminance"),
    depth: 0,
    description: t("0.299 R + 0.587 G + 0.114 B at the centre: the grey image (Pillow's “L”) out of one filter."),
    make: (k, cin) => (cin === 3 ? LUMINANCE.map((w) => scaled(identity(k), w)) : [identity(k)]),
  },
  only(0, "red", t("one channel only: red"), t("The identity on red, zeros on the others: the output is the red channel itself.")),
  only(1, "green", t("one channel only: green"), t("The identity on green, zeros on the others: the output is the green channel itself.")),
  only(2, "blue", t("one channel only: blue"), t("The identity on blue, zeros on the others: the output is the blue channel itself.")),
  {
    name: "random",
    title: t("random"),
    depth: 0,
    description: t("Random weights in [−1, 1], as a conv layer starts before training."),
    make: (k, cin) => Array.from({ length: cin }, () => Array.from({ length: k }, () => Array.from({ length: k }, () => Math.round((Math.random() * 2 - 1) * 10) / 10))),
  },
  {
    name: "zeros",
    title: t("zeros"),
    depth: 0,
    description: t("All zeros: the output is the bias everywhere."),
    make: (k, cin) => Array.from({ length: cin }, () => zeros(k)),
  },
];

/** The presets a filter of depth `cin` can use (depth 0: any). */
export function presetsFor(cin) {
  return BANK_PRESETS.filter((p) => !p.depth || p.depth === cin);
}

/** The preset's Cin kernels of K x K, copied. */
export function makeFilter(name, k, cin) {
  const preset = BANK_PRESETS.find((p) => p.name === name);
  return preset.make(k, cin).map(copy);
}
