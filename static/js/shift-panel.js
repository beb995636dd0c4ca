/**
 * The shift panel of the model page: a test digit moved with the arrow keys (or buttons), or turned with a
 * slider, through POST /api/perturb; per layer how much its output changes, and how much is left once the
 * move is undone at the layer's resolution; and in words, where max pooling made the change smaller.
 * Its limits come from GET /api/perturb/limits; a move past them is refused with a sentence.
 *
 *   createShiftPanel(document.getElementById("shift-section"), { onError });
 *
 * The section carries data-renders, data-shift ("dy,dx") and data-rotate.
 */

import { apiUrl, decodeArray, request } from "./api.js";
import { el } from "./dom.js";
import { paint } from "./heatmap.js";

const $ = (id) => document.getElementById(id);
const KEYS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
const pct = (v) => (v === null ? "—" : `${(v * 100).toFixed(v < 0.001 ? 4 : 1)}%`);

export function createShiftPanel(section, { onError }) {
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
      refusal = `At most ${limits.max_shift} pixels each way: the digit stays at ${shift.join(", ")}.`;
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
    return text !== "" && Number.isInteger(id) && id >= 0 && id <= 9999 ? id : null;
  }

  async function run() {
    const id = sample();
    if (id === null) {
      onError("Shift panel: pick a test digit between 0 and 9999.");
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
      const aligned = el("td", "", layer.aligned_change === null ? "—" : `${pct(layer.aligned_change)} (moved ${layer.aligned_shift.join(", ")})`);
      if (layer.aligned_change === null) {
        aligned.title = rotate ? "a turn cannot be undone by moving the maps" : layer.jump ? `its units are ${layer.jump} pixels apart: the move is not a whole number of them` : "no maps to move";
      }
      tr.append(name, el("td", "", layer.shape.join("×")), change, aligned);
      tbody.append(tr);
    }
    const p = body.prediction;
    const what = rotate ? `turned ${rotate}°` : `moved ${shift[0]} down, ${shift[1]} right`;
    status(`The digit ${what}: the network says ${p.before} (${(p.probability_before * 100).toFixed(1)}%) before, ${p.after} (${(p.probability_after * 100).toFixed(1)}%) after.`);
    $("shift-verdict").textContent = verdict(body.layers);
    section.dataset.shift = shift.join(",");
    section.dataset.rotate = String(rotate);
    renders += 1;
    section.dataset.renders = String(renders);
  }

  /** Each max pooling against the layer before it, in words. */
  function verdict(layers) {
    if (!shift[0] && !shift[1] && !rotate) return "Move or turn the digit to compare the layers.";
    const words = [];
    layers.forEach((layer, i) => {
      if (layer.kind !== "maxpool" || i === 0) return;
      const before = layers[i - 1];
      const ratio = layer.relative_change / before.relative_change;
      const how = ratio < 1 ? `${((1 - ratio) * 100).toFixed(0)}% smaller` : `${((ratio - 1) * 100).toFixed(0)}% larger`;
      words.push(`${layer.name} changes ${pct(layer.relative_change)} against ${pct(before.relative_change)} for ${before.name}: max pooling made the change ${how}`);
    });
    const last = layers[layers.length - 1];
    words.push(`the output (${last.name}) changes ${pct(last.relative_change)}`);
    return `${words.join("; ")}. Pooling dampens a small move, it does not make the network blind to it.`;
  }

  async function start() {
    limits = await request(apiUrl("/api/perturb/limits"));
    $("shift-rotate").min = String(-limits.max_rotate);
    $("shift-rotate").max = String(limits.max_rotate);
    $("shift-rotate-limit").textContent = `(±${limits.max_rotate}°)`;
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

  return { start };
}
