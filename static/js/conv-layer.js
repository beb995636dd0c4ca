/**
 * The kernel lab's conv-layer tab: a batch of colour images (bundled photos or uploads) through a bank of
 * filters as deep as the images, by POST /api/conv-layer; the tensors' shapes (4-D weights, 3-D output per
 * image, 4-D batch), the output stack, and how one output number is made (a 3-D patch times a 3-D filter,
 * summed, plus the bias). Started the first time its tab is shown.
 *
 *   startConvLayer({ onError, onShown });
 *
 * The panel's <div id="panel-layer"> carries data-state ("ready"), data-renders, data-busy while a
 * request is out and data-unit ("n,c,y,x") once a unit's sum is shown.
 */

import { request } from "./api.js";
import { KERNEL_LAB } from "./config.js";
import { FilterBank } from "./conv-layer-bank.js";
import { LayerView } from "./conv-layer-view.js";
import { el } from "./dom.js";
import { LANG, t, tn } from "./i18n.js";
import { showFormula } from "./kernel-formula.js";
import { fileSource } from "./kernel-sources.js";

const $ = (id) => document.getElementById(id);
const SIZES = [1, 3, 5, 7, 9, 11];

/** The bundled photos' words in the page's language, by id (an unknown photo keeps the server's words). */
const PHOTO_WORDS = {
  cat: () => ({ name: t("cat"), title: t("Chelsea the cat"), credit: t("Stefan van der Walt, from scikit-image's sample data") }),
  coffee: () => ({ name: t("coffee"), title: t("A cup of coffee"), credit: t("Rachel Michetti, from scikit-image's sample data") }),
  astronaut: () => ({ name: t("astronaut"), title: t("The astronaut Eileen Collins"), credit: t("NASA, from scikit-image's sample data") }),
};
const LICENSES = { "public domain": () => t("public domain") };
const SEMICOLON = LANG.startsWith("zh") ? "；" : "; ";

/** A photo of GET /api/conv-layer/options with its name, title, credit and licence in the page's language. */
function worded(photo) {
  const words = PHOTO_WORDS[photo.id] ? PHOTO_WORDS[photo.id]() : { name: photo.id };
  const license = LICENSES[photo.license] ? LICENSES[photo.license]() : photo.license;
  return { ...photo, ...words, license };
}

/** An image of the answer's batch by its name in the page's language (a bundled photo's id becomes its name). */
function imageName(name) {
  return PHOTO_WORDS[name] ? PHOTO_WORDS[name]().name : name;
}

/** The server's `explanation` of the shapes, in the page's language. */
function explanation(shapes) {
  const [n, cin, h, w] = shapes.input;
  const [cout, , k] = shapes.weight;
  const [, , oh, ow] = shapes.output;
  const params = { n, cin, h, w, cout, k, oh, ow };
  const one = t("Each filter has the input's depth: its {cin}x{k}x{k} weights times a {cin}x{k}x{k} patch, summed, plus its bias, give one number; slid over the {h}x{w} image it gives one {oh}x{ow} map.", params);
  const filters = tn("{cout} filter stacks (weights {cout}x{cin}x{k}x{k}, 4-D) into a {cout}x{oh}x{ow} output per image (3-D);", "{cout} filters stack (weights {cout}x{cin}x{k}x{k}, 4-D) into a {cout}x{oh}x{ow} output per image (3-D);", cout, params);
  const batch = tn("a batch of {n} image ({n}x{cin}x{h}x{w}, 4-D) gives {n}x{cout}x{oh}x{ow} (4-D).", "a batch of {n} images ({n}x{cin}x{h}x{w}, 4-D) gives {n}x{cout}x{oh}x{ow} (4-D).", n, params);
  return t("{first} {second} {third}", { first: one, second: filters, third: batch });
}

export async function startConvLayer({ onError, onShown }) {
  const panel = $("panel-layer");
  const maxUploadBytes = Number($("main").dataset.maxUploadBytes) || 0;
  let options;
  try {
    options = await request("/api/conv-layer/options");
  } catch (error) {
    onError(t("The conv layer could not start: {message}", { message: error.message }));
    return;
  }
  const limits = options.limits;
  const photos = options.photos.map(worded);
  let source = { photo: photos[0].id, label: photos[0].title };
  let timer = 0;
  let requested = 0;
  let changes = 0;
  let renders = 0;
  let unit = null; // [n, c, y, x]

  const bank = new FilterBank($("layer-bank"), { maxFilters: limits.max_filters, onChange: changed });
  const view = new LayerView({ stack: $("layer-stack"), unit: $("layer-unit"), onPick: pick });

  /* ---- the limits beside the fields -------------------------------------------------------------- */
  for (const k of SIZES.filter((s) => s <= limits.max_kernel)) $("layer-k").append(new Option(`${k}×${k}`, String(k)));
  $("layer-k").value = "5";
  $("layer-size").min = String(limits.min_size);
  $("layer-size").max = String(limits.max_size);
  $("layer-size").value = String(limits.default_size);
  $("layer-stride").max = String(limits.max_stride);
  const limitText = {
    "layer-size": `(${limits.min_size}–${limits.max_size})`,
    "layer-padding": `(0–${limits.max_padding})`,
    "layer-stride": `(1–${limits.max_stride})`,
  };
  for (const [name, text] of Object.entries(limitText)) document.querySelector(`[data-limit="${name}"]`).textContent = text;
  document.querySelector('[data-limit="layer-batch"]').textContent = String(limits.max_batch);
  $("layer-add").textContent = t("Add a filter (up to {most})", { most: limits.max_filters });

  /* ---- the photos -------------------------------------------------------------------------------- */
  const photoButtons = photos.map((photo) => {
    const button = el("button", "layer-photo");
    button.type = "button";
    button.dataset.photo = photo.id;
    const img = el("img");
    img.src = photo.url;
    img.alt = "";
    button.append(img, el("span", "", photo.title));
    button.addEventListener("click", () => {
      source = { photo: photo.id, label: photo.title };
      changed();
    });
    $("layer-photos").append(button);
    return button;
  });
  const credits = photos.map((p) => t("{title}, {credit} ({license})", { title: p.title, credit: p.credit, license: p.license }));
  $("layer-credits").textContent = t("Photos: {credits}.", { credits: credits.join(SEMICOLON) });

  $("layer-files").addEventListener("change", async () => {
    const picked = [...$("layer-files").files];
    $("layer-files").value = "";
    if (!picked.length) return;
    if (picked.length > limits.max_batch) {
      onError(t("A batch holds at most {most} images; you picked {count}.", { most: limits.max_batch, count: picked.length }));
      return;
    }
    const files = [];
    for (const file of picked) {
      const got = await fileSource(file, { maxBytes: maxUploadBytes });
      if (got.problem) {
        onError(got.problem);
        return;
      }
      files.push(got.file);
    }
    source = { files, label: tn("your {n} image", "your {n} images", files.length, { n: files.length }) };
    changed();
  });

  /* ---- the controls -> a request ------------------------------------------------------------------ */
  /** The field `id` as a whole number from `lo` to `hi`, or {problem} naming it (`field`); `orSame`: "same" would do too. */
  function whole(id, field, lo, hi, { orSame = false } = {}) {
    const text = $(id).value.trim();
    const v = Number(text);
    const params = { field, value: v, lo, hi };
    if (text === "" || !Number.isInteger(v)) {
      return { problem: orSame ? t("{field}: type a whole number from {lo} to {hi} (or type “same”).", params) : t("{field}: type a whole number from {lo} to {hi}.", params) };
    }
    if (v < lo || v > hi) {
      return { problem: orSame ? t("{field}: {value} is out of range; the server takes {lo} to {hi} (or type “same”).", params) : t("{field}: {value} is out of range; the server takes {lo} to {hi}.", params) };
    }
    return { value: v };
  }

  function readFields() {
    if (bank.problem) return { problem: bank.problem };
    const size = whole("layer-size", t("Longer side"), limits.min_size, limits.max_size);
    if (size.problem) return size;
    const stride = whole("layer-stride", t("Stride"), 1, limits.max_stride);
    if (stride.problem) return stride;
    let padding = $("layer-padding").value.trim().toLowerCase();
    if (padding !== "same") {
      const p = whole("layer-padding", t("Padding"), 0, limits.max_padding, { orSame: true });
      if (p.problem) return p;
      padding = p.value;
    }
    const color = document.querySelector('input[name="layer-color"]:checked').value;
    return { fields: { size: size.value, stride: stride.value, padding, color, weight: bank.weight, bias: bank.bias } };
  }

  function changed() {
    for (const b of photoButtons) b.setAttribute("aria-pressed", String(b.dataset.photo === source.photo));
    $("layer-add").disabled = bank.filters.length >= limits.max_filters;
    changes += 1;
    const { problem } = readFields();
    if (problem) {
      onError(problem);
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(() => send(), KERNEL_LAB.debounceMs);
  }

  function form(fields) {
    const data = new FormData();
    if (source.photo) data.append("photo", source.photo);
    else for (const file of source.files) data.append("file", file, file.name);
    for (const [key, value] of Object.entries(fields)) data.append(key, typeof value === "object" ? JSON.stringify(value) : String(value));
    if (unit) data.append("unit", unit.join(","));
    return data;
  }

  async function send() {
    const { fields, problem } = readFields();
    if (problem) return;
    const id = ++requested;
    const version = changes;
    panel.dataset.busy = "true";
    try {
      let result;
      try {
        result = await request("/api/conv-layer", { form: form(fields) });
      } catch (error) {
        if (!unit || error.status !== 422 || !/^unit:/.test(error.detail ?? error.message)) throw error;
        unit = null; // the picked unit is outside the new output: ask again without it
        result = await request("/api/conv-layer", { form: form(fields) });
      }
      if (id !== requested || version !== changes) return;
      render(result);
      onShown();
    } catch (error) {
      if (id === requested && version === changes) onError(error.message);
    } finally {
      if (id === requested) delete panel.dataset.busy;
    }
  }

  function render(result) {
    view.showShapes($("layer-shapes"), result.shapes);
    $("layer-explanation").textContent = explanation(result.shapes);
    showFormula($("layer-formula"), result.arithmetic);
    view.showStack(result, imageName);
    if (result.unit) {
      view.showUnit(result.unit, result.shapes);
      panel.dataset.unit = [result.unit.n, result.unit.c, result.unit.y, result.unit.x].join(",");
    } else {
      unit = null;
      view.clearUnit();
      delete panel.dataset.unit;
    }
    const [n, cin, h, w] = result.shapes.input;
    const sizes = result.images.map((i) => `${imageName(i.name)}, ${i.original.join("×")} → ${i.width}×${i.height}`).join(SEMICOLON);
    const params = { label: source.label, n, cin, h, w, sizes };
    $("layer-source-note").textContent = tn("{label}: {n} image of {cin} × {h} × {w} ({sizes}).", "{label}: {n} images of {cin} × {h} × {w} ({sizes}).", n, params);
    renders += 1;
    panel.dataset.renders = String(renders);
  }

  function pick(n, c, y, x) {
    unit = [n, c, y, x];
    changes += 1;
    send();
  }

  /* ---- wiring ---------------------------------------------------------------------------------------- */
  $("layer-k").addEventListener("change", () => {
    bank.setShape(Number($("layer-k").value), bank.cin);
    changed();
  });
  for (const input of document.querySelectorAll('input[name="layer-color"]')) {
    input.addEventListener("change", () => {
      bank.setShape(bank.k, input.value === "rgb" ? 3 : 1);
      changed();
    });
  }
  for (const id of ["layer-size", "layer-padding", "layer-stride"]) $(id).addEventListener("input", changed);
  $("layer-add").addEventListener("click", () => {
    const order = ["luminance", "Sobel on all channels", "one channel only: red", "one channel only: green", "one channel only: blue", "random"];
    bank.add(order[(bank.filters.length - 1) % order.length]);
    changed();
  });

  bank.setShape(5, 3);
  bank.add("red-vs-green vertical edge");
  changed();
  panel.dataset.state = "ready";
}
