/**
 * Short plain-words explanations of each layer kind, and a layer's geometry in words.
 *
 *   explain(info)    // info: a layer of GET /api/model plus what layer-list.js adds (previous, previousShape,
 *                    // nextKind, preprocess, firstConv, inputs)
 *   geometry(info)   // "5 × 5 kernel, stride 1, padding 2 · each value sees 5 × 5 input pixels · 520 parameters"
 */

import { formatNumber, t, tp } from "./i18n.js";

const T = "\u00d7";

/** Sentences one after the other (a space between them in English, none in Chinese). */
export function sentences(parts) {
  const kept = parts.filter(Boolean);
  return kept.length ? kept.reduce((first, second) => t("{first} {second}", { first, second })) : "";
}

/** What uploads went through before the network saw them, by the model's `input.preprocess`. */
function inputText(info) {
  const [c, h, w] = info.output_shape;
  const size = `${h} ${T} ${w}`;
  const colour = c === 3;
  const texts = {
    digit: () => t("The image after preprocessing: cropped to the ink, scaled to {px} px and centred by mass in {size}, the way MNIST digits look; bright means ink, pixels from 0 to 1.", { px: Math.round((20 / 28) * h), size }),
    resize: () =>
      colour
        ? t("The image after preprocessing: made in colour, its plain background trimmed, inverted when that background is light (the training images show a bright object on black) and resized to {size}; pixels from 0 to 1.", { size })
        : t("The image after preprocessing: made grey, its plain background trimmed, inverted when that background is light (the training images show a bright object on black) and resized to {size}; pixels from 0 to 1.", { size }),
    none: () =>
      colour
        ? t("The image resized to {size}, in colour, pixels from 0 to 1, with nothing else done to it.", { size })
        : t("The image resized to {size}, grey, pixels from 0 to 1, with nothing else done to it.", { size }),
  };
  const text = texts[info.preprocess || "digit"];
  const seen = text ? text() : t("The image as the network receives it: {size}, pixels from 0 to 1.", { size });
  const then = info.firstConv
    ? t("The network's first step normalises these pixels (subtracts the training images' mean, divides by their spread), so {conv} does not slide over this picture itself: its card shows what it does slide over.", { conv: info.firstConv })
    : t("The network's first step normalises these pixels (subtracts the training images' mean, divides by their spread), so the layers after it see the normalised pixels.");
  return sentences([seen, then]);
}

const KIND_TEXT = {
  conv: t("Each map is one filter, a small learned pattern of weights, slid over every position of the layer below. A map is bright red where that pattern is present, blue where its opposite is."),
  batchnorm: t("Batch normalisation rescales every channel with statistics fixed during training: subtract the running mean, divide by the running spread, then multiply by γ and add β. It keeps values in a range the next layer handles well."),
  relu: t("ReLU keeps positive values and turns negative ones into zero, so only the features that were found pass on. Without some bend, stacked layers would add up to a single linear step; max pooling is such a bend too, which is why the lecture calls ReLU after a conv layer not strictly necessary."),
  maxpool: t("Max pooling keeps the strongest value of each window: the maps shrink and the network stops caring exactly where, within a couple of pixels, a feature was."),
  avgpool: t("Average pooling replaces each window by its mean value."),
  flatten: t("Flatten lays every value of every map side by side in one long vector, so that a fully connected layer can take them all. Nothing is computed: the numbers are the same, only their arrangement changes."),
  linear: t("A fully connected layer: every output is a weighted sum of all inputs plus a bias, mixing features from the whole image."),
  add: t("An add layer sums its inputs value by value. When one input is a block's own input that skipped past the block's layers (a residual connection), the block only has to learn a correction to what it was given."),
  concat: t("Concatenation stacks the channels of its inputs one after another: nothing is computed, the maps of several branches travel on together."),
  dropout: t("Dropout switches random units off while the network trains, so that no unit can count on any other; at inference, as here, it passes everything on unchanged."),
  identity: t("This layer passes its input on unchanged."),
  softmax: t("Softmax turns the class scores into probabilities that are positive and add up to 1. The biggest one is the prediction."),
};

/** Another activation function (GELU, sigmoid...), named by its kind. */
const activationText = (kind) => t("An activation function ({kind}) applied to every value on its own: the bend between two linear steps that lets the network be more than one linear map.", { kind: kind.replace("_", " ") });

const int = (n) => formatNumber(n);

/** What a linear layer does with its input, from the shapes: "Here the 2,450 values of flatten (2,450) become 500 numbers." */
function linearText(info) {
  const shape = info.previousShape || [];
  const count = shape.reduce((a, b) => a * b, 1);
  const [out] = info.output_shape;
  const params = { count: int(count), layer: info.previous, shape: shape.join(` ${T} `), out: int(out) };
  const flat = shape.length > 1;
  if (info.nextKind === "softmax" || info.isOutput) {
    return flat
      ? t("Here the {count} values of {layer} ({shape}, flattened) become {out} numbers: one score (a logit) per class.", params)
      : t("Here the {count} values of {layer} become {out} numbers: one score (a logit) per class.", params);
  }
  return flat ? t("Here the {count} values of {layer} ({shape}, flattened) become {out} numbers.", params) : t("Here the {count} values of {layer} become {out} numbers.", params);
}

/** Global average pooling: one number per map. */
function poolText(info) {
  const [c, h, w] = info.output_shape;
  if (h === 1 && w === 1) return t("Here each of the {count} maps becomes its average, one number: global average pooling, so the classifier sees how strongly each feature is present anywhere in the image, not where.", { count: int(c) });
  return "";
}

/** The explanation for a layer: its kind's text, then what is specific to this layer. */
export function explain(info) {
  if (info.kind === "input") return inputText(info);
  const known = KIND_TEXT[info.kind];
  const parts = [known || (info.kind === "other" ? "" : activationText(info.kind))];
  if (info.kind === "flatten") parts.push(t("Here the maps become one vector of {count} numbers.", { count: int(info.output_shape.reduce((a, b) => a * b, 1)) }));
  if (info.kind === "linear" && info.previous) parts.push(linearText(info));
  const claim = info.reluClaim;
  if (info.kind === "relu" && info.nextKind === "maxpool" && claim) {
    const pct = (a) => `${(a * 100).toFixed(2)}%`;
    parts.push(t("Measured here: lenet_bn_norelu, the same network trained without the ReLUs before its max pools, reaches {without} on the test digits against {with} for lenet_bn.", { without: pct(claim.without), with: pct(claim.with) }));
  }
  if (info.kind === "avgpool") parts.push(poolText(info));
  if ((info.kind === "add" || info.kind === "concat") && info.inputs) parts.push(t("Here: {inputs}.", { inputs: info.inputs.join(info.kind === "add" ? " + " : ", ") }));
  if (info.kind === "other") parts.push(t("{name} is a step ConvLens has no words for; its output is shown as it is.", { name: info.name }));
  return sentences(parts);
}

/** Kernel, stride, padding and receptive field in one line, e.g. "5 × 5 kernel, stride 1, padding 2 · each value sees 5 × 5 input pixels". */
export function geometry(info) {
  const bits = [];
  if (info.kernel_size) {
    const pooling = info.kind === "maxpool" || info.kind === "avgpool";
    const k = info.kernel_size;
    const settings = [pooling ? t("{k} × {k} window", { k }) : t("{k} × {k} kernel", { k })];
    if (info.stride) settings.push(t("stride {n}", { n: info.stride }));
    if (info.padding) settings.push(t("padding {n}", { n: info.padding }));
    if (info.dilation && info.dilation > 1) settings.push(t("dilation {n}", { n: info.dilation }));
    if (info.groups && info.groups > 1) settings.push(t("{n} groups", { n: info.groups }));
    // Translators: separates the settings of a layer: "5 × 5 kernel, stride 1, padding 2"
    bits.push(settings.join(tp("settings", ", ")));
  }
  const rf = info.receptive_field;
  if (rf && rf.size > 1) bits.push(t("each value sees {n} × {n} input pixels", { n: rf.size }));
  else if (!rf && info.receptive_field_note && info.output_shape.length === 3) bits.push(t("no receptive-field box: {note}", { note: info.receptive_field_note }));
  if (info.params) bits.push(t("{n} parameters", { n: formatNumber(info.params) }));
  return bits.join(" · ");
}
