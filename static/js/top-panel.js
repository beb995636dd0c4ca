/**
 * Top-activating test images: for one channel of a spatial layer, the test images (9 by default) whose map
 * reaches the largest values, each with the receptive field of the unit that fired outlined, the patch
 * cut out, and the value (GET /api/layers/{name}/channels/{c}/top), the way OpenAI Microscope shows
 * dataset examples.
 *
 *   host.append(topDigits("conv2", 7, { onPick: (example) => ..., words }));   // a <section>, filled when loaded
 *   topDigits("conv2", 7, { model: "lenet" })                            // another model's (default: the page's)
 *
 * `words` (model-words.js) names the classes and what the images are; a strip takes them from its view.
 *   const strip = topStrip(view, { onPick });  view.body.append(strip.element);  strip.show(true);
 *
 * `onPick(example)` (optional) opens an image in place; without it the images are plain links to
 * /?sample=<index> (and the model).
 */

import { api, currentModel } from "./api.js";
import { INSIGHT } from "./config.js";
import { el } from "./dom.js";
import { formatTick } from "./format.js";
import { t } from "./i18n.js";
import { placeBox } from "./insight-draw.js";
import { pageUrl } from "./model-switch.js";
import { modelWords } from "./model-words.js";

const IMAGE = [28, 28]; // H, W of a test image unless the view says (the box is in the input's pixels)

const cache = new Map();

/** True when the model's test images are digits (the words' `item` may be in the page's language). */
const isDigits = (words) => words.digits || !words.named;

/** GET .../top once per (model, layer, channel); failures are not cached. */
function load(layer, channel, model = currentModel()) {
  const key = `${model}|${layer}|${channel}`;
  if (!cache.has(key)) {
    const promise = api.top(layer, channel, { model });
    cache.set(key, promise);
    promise.catch(() => cache.delete(key));
  }
  return cache.get(key);
}

/** Copy the box of `img` (loaded or not yet) into `canvas`, one canvas pixel per image pixel. */
function cutOut(canvas, img, box) {
  const w = box.x1 - box.x0 + 1;
  const h = box.y1 - box.y0 + 1;
  canvas.width = w;
  canvas.height = h;
  canvas.style.setProperty("--patch-aspect", `${w} / ${h}`);
  const draw = () => {
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, box.x0, box.y0, w, h, 0, 0, w, h);
    canvas.dataset.drawn = "true";
  };
  if (img.complete && img.naturalWidth) draw();
  else img.addEventListener("load", draw, { once: true });
}

function exampleFigure(result, example, rank, { onPick, words, model, size }) {
  const { box } = example;
  const digits = isDigits(words);
  const a = words.a(example.label);
  const said = { rank: rank + 1, index: example.index, a, layer: result.layer, channel: result.channel, value: formatTick(example.activation), y: example.y, x: example.x };
  const figure = el("figure", "top-digit");
  Object.assign(figure.dataset, { index: String(example.index), label: String(example.label), activation: String(example.activation) });
  const link = el("a", "top-link");
  link.href = pageUrl("/", { sample: example.index, model });
  link.setAttribute(
    "aria-label",
    digits
      ? t("Number {rank}: test digit {index}, {a}; {layer} channel {channel} reaches {value} at (y {y}, x {x}). Open it.", said)
      : t("Number {rank}: test image {index}, {a}; {layer} channel {channel} reaches {value} at (y {y}, x {x}). Open it.", said),
  );
  link.title = digits ? t("Test digit #{index} ({a}): open it in the explorer", said) : t("Test image #{index} ({a}): open it in the explorer", said);
  if (onPick) {
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      onPick(example);
    });
  }
  const holder = el("span", "top-stage");
  holder.style.setProperty("--top-px", `${INSIGHT.topPx}px`);
  const img = el("img", "top-img crisp");
  img.alt = "";
  img.width = size[1];
  img.height = size[0];
  img.src = api.sampleUrl(example.index, { model });
  const outline = el("span", "top-box");
  placeBox(outline, box, { height: size[0], width: size[1] });
  holder.append(img, outline);
  link.append(holder);
  const patch = el("canvas", "top-patch crisp");
  patch.setAttribute("aria-hidden", "true");
  cutOut(patch, img, box);
  const caption = el("figcaption", "top-caption");
  caption.append(el("span", "top-value", formatTick(example.activation)), el("span", "top-label", a));
  figure.append(link, patch, caption);
  return figure;
}

/** [H, W] of the test images a layer view's model takes. */
export function imageSize(view) {
  const shape = view.info.inputShape;
  return shape && shape.length === 3 ? [shape[1], shape[2]] : IMAGE;
}

/** A <section> with the top images of `layer` channel `channel`; `data-state` is loading, ready or error. */
export function topDigits(layer, channel, { onPick = null, heading = true, model = currentModel(), words = modelWords(null), size = IMAGE } = {}) {
  const section = el("section", "top-panel");
  const digits = isDigits(words);
  Object.assign(section.dataset, { layer, channel: String(channel), state: "loading" });
  const which = { layer, channel };
  if (heading) section.append(el("h3", "", digits ? t("Test digits that excite {layer} channel {channel} most", which) : t("Test images that excite {layer} channel {channel} most", which)));
  const status = el("p", "hint", t("Loading…"));
  section.append(status);
  load(layer, channel, model).then(
    (result) => {
      const count = { count: result.examples.length };
      status.textContent = digits
        ? t("The {count} test digits on which this channel reaches its highest values, highest first. The outline is what the unit that fired can see (cut out on the right); the number is its value. Click one to look at it.", count)
        : t("The {count} test images on which this channel reaches its highest values, highest first. The outline is what the unit that fired can see (cut out on the right); the number is its value. Click one to look at it.", count);
      const grid = el("div", "top-grid");
      result.examples.forEach((example, rank) => grid.append(exampleFigure(result, example, rank, { onPick, words, model, size })));
      section.append(grid);
      section.dataset.state = "ready";
    },
    (error) => {
      const message = { message: error.message };
      status.textContent = digits ? t("The top-activating digits are not available: {message}", message) : t("The top-activating images are not available: {message}", message);
      status.className = error.status === 404 ? "not-applicable" : "top-error"; // not recorded for this model, or failed
      section.dataset.state = "error";
    },
  );
  return section;
}

/**
 * For a conv layer's card, shown with its filters: a channel picker and that channel's top digits.
 * @returns {{element: HTMLElement, show(on: boolean): void, select(channel: number): void}}
 */
export function topStrip(view, { onPick = null } = {}) {
  const element = el("div", "top-strip");
  element.hidden = true;
  const head = el("div", "top-strip-head");
  const label = el("label", "top-pick");
  const select = el("select");
  select.name = `top-${view.name}`;
  for (let c = 0; c < view.channels; c++) {
    const option = el("option", "", t("channel {channel}", { channel: c }));
    option.value = String(c);
    select.append(option);
  }
  const words = modelWords(view.info);
  label.append(isDigits(words) ? t("Test digits that excite {layer} most: ", { layer: view.name }) : t("Test images that excite {layer} most: ", { layer: view.name }), select);

  head.append(label);
  element.append(head);
  let panel = null;
  const showChannel = (channel) => {
    select.value = String(channel);
    const next = topDigits(view.name, channel, { onPick, heading: false, model: view.info.model, words, size: imageSize(view) });
    if (panel) panel.replaceWith(next);
    else element.append(next);
    panel = next;
  };
  select.addEventListener("change", () => showChannel(Number(select.value)));
  return {
    element,
    show(on) {
      element.hidden = !on;
      if (on && !panel) showChannel(Number(select.value));
    },
    select: showChannel,
  };
}
