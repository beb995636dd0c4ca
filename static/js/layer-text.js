/** Short plain-words explanations of each layer kind, and a layer's geometry in words. */

const KIND_TEXT = {
  input:
    "The image after preprocessing: cropped, scaled to 20 px and centred by mass in 28 × 28, the way MNIST digits look; bright means ink, pixels from 0 to 1. The network's first step normalises these pixels, so conv1 does not slide over this picture itself: its card shows what it does slide over.",
  conv: "Each map is one filter, a small learned pattern of weights, slid over every position of the layer below. A map is bright red where that pattern is present, blue where its opposite is.",
  batchnorm: "Batch normalisation rescales every channel with statistics fixed during training: subtract the running mean, divide by the running spread, then multiply by γ and add β. It keeps values in a range the next layer handles well.",
  relu: "ReLU keeps positive values and turns negative ones into zero, so only the features that were found pass on. Without some bend, stacked layers would add up to a single linear step; max pooling is such a bend too, which is why the lecture calls ReLU after a conv layer not strictly necessary.",
  maxpool: "Max pooling keeps the strongest value of each window: the maps shrink and the network stops caring exactly where, within a couple of pixels, a feature was.",
  flatten: "Flatten lays every value of every map side by side in one long vector, so that a fully connected layer can take them all. Nothing is computed: the numbers are the same, only their arrangement changes.",
  linear: "A fully connected layer: every output is a weighted sum of all inputs plus a bias, mixing features from the whole image.",
  softmax: "Softmax turns the ten scores into probabilities that are positive and add up to 1. The biggest one is the prediction.",
};

const int = (n) => n.toLocaleString("en-US");

/** What a linear layer does with its input, from the shapes: "Here the 2,450 values of flatten (2,450) become 500 numbers." */
function linearText(info) {
  const shape = info.previousShape || [];
  const count = shape.reduce((a, b) => a * b, 1);
  const flat = shape.length > 1 ? ` (${shape.join(" × ")}, flattened)` : "";
  const [out] = info.output_shape;
  const scores = info.nextKind === "softmax" ? ": one score (a logit) per class" : "";
  return `Here the ${int(count)} values of ${info.previous}${flat} become ${int(out)} numbers${scores}.`;
}

/** The explanation for a layer: its kind's text, then what is specific to this layer. */
export function explain(info) {
  const parts = [KIND_TEXT[info.kind] || ""];
  if (info.kind === "flatten") parts.push(`Here the maps become one vector of ${int(info.output_shape.reduce((a, b) => a * b, 1))} numbers.`);
  if (info.kind === "linear" && info.previous) parts.push(linearText(info));
  return parts.filter(Boolean).join(" ");
}

/** Kernel, stride, padding and receptive field in one line, e.g. "5 × 5 kernel, stride 1, padding 2 · each value sees 5 × 5 input pixels". */
export function geometry(info) {
  const bits = [];
  if (info.kernel_size) {
    let kernel = `${info.kernel_size} × ${info.kernel_size} ${info.kind === "maxpool" ? "window" : "kernel"}`;
    if (info.stride) kernel += `, stride ${info.stride}`;
    if (info.padding) kernel += `, padding ${info.padding}`;
    bits.push(kernel);
  }
  const rf = info.receptive_field;
  if (rf && rf.size > 1) bits.push(`each value sees ${rf.size} × ${rf.size} input pixels`);
  if (info.params) bits.push(`${info.params.toLocaleString("en")} parameters`);
  return bits.join(" · ");
}
