/**
 * Top-activating digits: for one channel of a spatial layer, the test digits (9 by default) whose map
 * reaches the largest values, each with the receptive field of the unit that fired outlined, the patch
 * cut out, and the value (GET /api/layers/{name}/channels/{c}/top), the way OpenAI Microscope shows
 * dataset examples.
 *
 *   host.append(topDigits("conv2", 7, { onPick: (example) => ... }));   // a <section>, filled when loaded
 *   topDigits("conv2", 7, { model: "lenet" })                            // another model's (default: the page's)
 *   const strip = topStrip(view, { onPick });  view.body.append(strip.element);  strip.show(true);
 *
 * `onPick(example)` (optional) opens a digit in place; without it the digits are plain links to
 * /?sample=<index>.
 */

import { api, currentModel } from "./api.js";
import { INSIGHT } from "./config.js";
import { el } from "./dom.js";
import { formatTick } from "./format.js";
import { placeBox } from "./insight-draw.js";

const IMAGE = 28; // the test digits are 28 x 28

const cache = new Map();

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

function exampleFigure(result, example, rank, onPick) {
  const { box } = example;
  const figure = el("figure", "top-digit");
  Object.assign(figure.dataset, { index: String(example.index), label: String(example.label), activation: String(example.activation) });
  const link = el("a", "top-link");
  link.href = `/?sample=${example.index}`;
  link.setAttribute(
    "aria-label",
    `Number ${rank + 1}: test digit ${example.index}, a ${example.label}; ${result.layer} channel ${result.channel} reaches ${formatTick(example.activation)} at (y ${example.y}, x ${example.x}). Open it.`,
  );
  link.title = `Test digit #${example.index} (a ${example.label}): open it in the explorer`;
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
  img.width = IMAGE;
  img.height = IMAGE;
  img.src = api.sampleUrl(example.index);
  const outline = el("span", "top-box");
  placeBox(outline, box, { height: IMAGE, width: IMAGE });
  holder.append(img, outline);
  link.append(holder);
  const patch = el("canvas", "top-patch crisp");
  patch.setAttribute("aria-hidden", "true");
  cutOut(patch, img, box);
  const caption = el("figcaption", "top-caption");
  caption.append(el("span", "top-value", formatTick(example.activation)), el("span", "top-label", `a ${example.label}`));
  figure.append(link, patch, caption);
  return figure;
}

/** A <section> with the top digits of `layer` channel `channel`; `data-state` is loading, ready or error. */
export function topDigits(layer, channel, { onPick = null, heading = true, model = currentModel() } = {}) {
  const section = el("section", "top-panel");
  Object.assign(section.dataset, { layer, channel: String(channel), state: "loading" });
  if (heading) section.append(el("h3", "", `Test digits that excite ${layer} channel ${channel} most`));
  const status = el("p", "hint", "Loading…");
  section.append(status);
  load(layer, channel, model).then(
    (result) => {
      status.textContent = `The ${result.examples.length} test digits on which this channel reaches its highest values, highest first. The outline is what the unit that fired can see (cut out on the right); the number is its value. Click a digit to look at it.`;
      const grid = el("div", "top-grid");
      result.examples.forEach((example, rank) => grid.append(exampleFigure(result, example, rank, onPick)));
      section.append(grid);
      section.dataset.state = "ready";
    },
    (error) => {
      status.textContent = `The top-activating digits are not available: ${error.message}`;
      status.className = "top-error";
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
    const option = el("option", "", `channel ${c}`);
    option.value = String(c);
    select.append(option);
  }
  label.append(`Test digits that excite ${view.name} most: `, select);
  head.append(label);
  element.append(head);
  let panel = null;
  const showChannel = (channel) => {
    select.value = String(channel);
    const next = topDigits(view.name, channel, { onPick, heading: false, model: view.info.model });
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
