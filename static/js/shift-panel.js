/**
 * The shift panel of the model page: a test digit moved with the arrow keys (or buttons), or turned with a
 * slider, through POST /api/perturb; per layer how much its output changes, and how much is left once the
 * move is undone at the layer's resolution; and in words, where max pooling made the change smaller.
 * Its limits come from GET /api/perturb/limits; a move past them is refused with a sentence.
 *
 *   const shifts = createShiftPanel(document.getElementById("shift-section"), { onError, words: () => words });
 *   await shifts.start();      // once: wires the keys, buttons and slider, then shows the first answer
 *   await shifts.restart();    // another model: its limits, the image back at the start
 *
 * `words()` (model-words.js) names the classes and the test images of the page's model.
 * The section carries data-renders, data-shift ("dy,dx") and data-rotate.
 */

import { apiUrl, decodeArray, request } from "./api.js";
import { el } from "./dom.js";
import { paint } from "./heatmap.js";
import { t } from "./i18n.js";
import { modelWords } from "./model-words.js";

const $ = (id) => document.getElementById(id);
const KEYS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
const pct = (v) => (v === null ? "—" : `${(v * 100).toFixed(v < 0.001 ? 4 : 1)}%`);

export function createShiftPanel(section, { onError, words = () => modelWords(null) }) {
  let limits = null;
  let shift = [0, 0];
  let rotate = 0;
  let requested = 0;
  let renders = 0;
  let refusal = ""; // the last refused move, kept until the next accepted one (an answer in flight must not hide it)

  let sentence = "";

  function status(text = sentence) {
    sentence = text;
    $("shift-status").textContent = [text, refusal].filter(Boolean).join(" ");
  }

  function move(dy, dx) {
    const next = dy === 0 && dx === 0 ? [0, 0] : [shift[0] + dy, shift[1] + dx];
    if (Math.abs(next[0]) > limits.max_shift || Math.abs(next[1]) > limits.max_shift) {
      refusal = t("At most {max} pixels each way: the {item} stays at {at}.", { max: limits.max_shift, item: words().item, at: shift.join(", ") });
      status();
      return;
    }
    refusal = "";
    shift = next;
    rotate = 0;
    $("shift-rotate").value = "0";
    $("shift-rotate-value").textContent = "0°";
    run();
  }

  function sample() {
    const text = $("shift-sample").value.trim();
    const id = Number(text);
    return text !== "" && Number.isInteger(id) && id >= 0 ? id : null;
  }

  async function run() {
    const id = sample();
    if (id === null) {
      onError(t("Shift panel: the test {item} is named by a whole number from 0 up.", { item: words().item }));
      return;
    }
    const ticket = ++requested;
    const form = new FormData();
    form.append("sample", String(id));
    if (rotate) form.append("rotate", String(rotate));
    else form.append("shift", shift.join(","));
    section.dataset.busy = "true";
    try {
      const body = await request(apiUrl("/api/perturb"), { form });
      if (ticket !== requested) return;
      show(body);
    } catch (error) {
      if (ticket === requested) onError(error);
    } finally {
      if (ticket === requested) delete section.dataset.busy;
    }
  }

  function show(body) {
    const [, h, w] = body.moved_input.shape;
    paint($("shift-digit"), decodeArray(body.moved_input.data, body.moved_input.dtype), { height: h, width: w, scale: "gray", domain: [0, 1] });
    const tbody = $("shift-table").tBodies[0];
    tbody.textContent = "";
    for (const layer of body.layers) {
      const tr = el("tr", layer.kind);
      tr.dataset.layer = layer.name;
      tr.dataset.change = String(layer.relative_change);
      const name = el("th", "", layer.name);
      name.scope = "row";
      const bar = el("span", "shift-bar");
      bar.style.width = `${Math.min(1.5, layer.relative_change ?? 0) * 80}px`;
      const change = el("td");
      change.append(bar, pct(layer.relative_change));
      const undone = layer.aligned_change === null ? "—" : t("{change} (moved {by})", { change: pct(layer.aligned_change), by: layer.aligned_shift.join(", ") });
      const aligned = el("td", "", undone);
      if (layer.aligned_change === null) aligned.title = whyNotUndone(layer);
      tr.append(name, el("td", "", layer.shape.join("×")), change, aligned);
      tbody.append(tr);
    }
    const p = body.prediction;
    const { item, name } = words();
    const says = {
      item,
      before: name(p.before),
      pbefore: (p.probability_before * 100).toFixed(1),
      after: name(p.after),
      pafter: (p.probability_after * 100).toFixed(1),
    };
    status(
      rotate
        ? t("The {item} turned {deg}°: the network says {before} ({pbefore}%) before, {after} ({pafter}%) after.", { ...says, deg: rotate })
        : t("The {item} moved {dy} down, {dx} right: the network says {before} ({pbefore}%) before, {after} ({pafter}%) after.", { ...says, dy: shift[0], dx: shift[1] }),
    );
    $("shift-verdict").textContent = verdict(body.layers);
    section.dataset.shift = shift.join(",");
    section.dataset.rotate = String(rotate);
    renders += 1;
    section.dataset.renders = String(renders);
  }

  /** Why a layer's change cannot be undone by moving its maps back (the cell's tooltip). */
  function whyNotUndone(layer) {
    if (rotate) return t("a turn cannot be undone by moving the maps");
    if (layer.jump) return t("its units are {jump} pixels apart: the move is not a whole number of them", { jump: layer.jump });
    return t("no maps to move");
  }

  /** Each max pooling against the layer before it, in words. */
  function verdict(layers) {
    if (!shift[0] && !shift[1] && !rotate) return t("Move or turn the {item} to compare the layers.", { item: words().item });
    const parts = [];
    layers.forEach((layer, i) => {
      if (layer.kind !== "maxpool" || i === 0) return;
      const before = layers[i - 1];
      const ratio = layer.relative_change / before.relative_change;
      const compared = { layer: layer.name, change: pct(layer.relative_change), was: pct(before.relative_change), before: before.name };
      parts.push(
        ratio < 1
          ? t("{layer} changes {change} against {was} for {before}: max pooling made the change {n}% smaller", { ...compared, n: ((1 - ratio) * 100).toFixed(0) })
          : t("{layer} changes {change} against {was} for {before}: max pooling made the change {n}% larger", { ...compared, n: ((ratio - 1) * 100).toFixed(0) }),
      );
    });
    const last = layers[layers.length - 1];
    parts.push(t("the output ({layer}) changes {change}", { layer: last.name, change: pct(last.relative_change) }));
    const separator = t("; ");
    return t("{parts}. Pooling dampens a small move, it does not make the network blind to it.", { parts: parts.join(separator) });
  }

  async function loadLimits() {
    limits = await request(apiUrl("/api/perturb/limits"));
    $("shift-rotate").min = String(-limits.max_rotate);
    $("shift-rotate").max = String(limits.max_rotate);
    $("shift-rotate-limit").textContent = `(±${limits.max_rotate}°)`;
  }

  async function restart() {
    shift = [0, 0];
    rotate = 0;
    refusal = "";
    $("shift-rotate").value = "0";
    $("shift-rotate-value").textContent = "0°";
    await loadLimits();
    await run();
  }

  async function start() {
    await loadLimits();
    $("shift-digit").addEventListener("keydown", (event) => {
      const step = KEYS[event.key];
      if (!step) return;
      event.preventDefault();
      move(...step);
    });
    for (const button of section.querySelectorAll("[data-move]")) {
      button.addEventListener("click", () => move(...button.dataset.move.split(",").map(Number)));
    }
    $("shift-rotate").addEventListener("input", () => {
      rotate = Number($("shift-rotate").value);
      $("shift-rotate-value").textContent = `${rotate}°`;
      shift = [0, 0];
      run();
    });
    $("shift-sample").addEventListener("change", run);
    await run();
  }

  return { start, restart };
}
