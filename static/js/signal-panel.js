/**
 * The kernel lab's 1-D tab: the convolution of mathematics, step by step, through POST /api/convolve1d.
 * Two lists (two dice by default) -> their convolution (the distribution of the sum), with the kernel
 * flipped and slid under the signal one output at a time (Step, Back, Play), every product and the sum;
 * beside it, the same flip in 2-D (a half turn). Started the first time its tab is shown.
 *
 *   startSignal({ onError, onShown });
 *
 * <div id="signal-stage"> carries data-step (the output shown) and data-full-index; <div id="panel-signal">
 * data-renders.
 */

import { request } from "./api.js";
import { el } from "./dom.js";
import { formatTick } from "./format.js";
import { colorOf } from "./heatmap.js";
import { t } from "./i18n.js";
import { applied, formatWeight, parseWeight } from "./kernel-math.js";

const $ = (id) => document.getElementById(id);
const PLAY_MS = 900;
const EXAMPLE_2D = [
  [1, 2, 0],
  [0, -1, 3],
  [-2, 0, 0.5],
];
const SIXTH = "1/6, 1/6, 1/6, 1/6, 1/6, 1/6";
const PRESETS = {
  dice: { a: SIXTH, a0: 1, b: SIXTH, b0: 1 },
  loaded: { a: SIXTH, a0: 1, b: "0.1, 0.1, 0.1, 0.1, 0.1, 0.5", b0: 1 },
  coins: { a: "1/8, 3/8, 3/8, 1/8", a0: 0, b: SIXTH, b0: 1 },
  edge: { a: "0, 0, 0, 1, 1, 1, 1", a0: 0, b: "-1, 0, 1", b0: -1 },
};

/** "1/6, 1/6" -> {values} or {problem}. */
function parseList(text, name) {
  const parts = text.split(/[,;\s]+/).filter(Boolean);
  if (!parts.length) return { problem: t("{name}: type at least one number, e.g. 1/6, 1/6.", { name }) };
  const values = [];
  for (const [i, part] of parts.entries()) {
    const { value, problem } = parseWeight(part);
    if (problem) return { problem: t("{name}, value {i}: {problem}", { name, i: i + 1, problem }) };
    values.push(value);
  }
  return { values };
}

function whole(id, name) {
  const v = Number($(id).value);
  return $(id).value.trim() !== "" && Number.isInteger(v) ? { value: v } : { problem: t("{field}: type a whole number.", { field: name }) };
}

function cell(text, className, title) {
  const c = el("span", `signal-cell ${className}`, text);
  if (title) c.title = title;
  return c;
}

export function startSignal({ onError, onShown }) {
  const panel = $("panel-signal");
  let result = null;
  let inputs = null;
  let step = 0;
  let timer = 0;
  let requested = 0;
  let renders = 0;

  function read() {
    const a = parseList($("signal-a").value, "a");
    if (a.problem) return a;
    const b = parseList($("signal-b").value, "b");
    if (b.problem) return b;
    const a0 = whole("signal-a0", t("a starts at"));
    if (a0.problem) return a0;
    const b0 = whole("signal-b0", t("b starts at"));
    if (b0.problem) return b0;
    const mode = document.querySelector('input[name="signal-mode"]:checked').value;
    return { a: a.values, b: b.values, a0: a0.value, b0: b0.value, mode, padding: $("signal-padding").value };
  }

  async function run() {
    stop();
    const got = read();
    if (got.problem) {
      onError(got.problem);
      return;
    }
    const id = ++requested;
    try {
      const body = await request("/api/convolve1d", { json: { signal: got.a, kernel: got.b, mode: got.mode, padding: got.padding } });
      if (id !== requested) return;
      const flipping = !result || result.mode !== body.mode;
      result = body;
      inputs = got;
      step = 0;
      draw(flipping);
      onShown();
      renders += 1;
      panel.dataset.renders = String(renders);
    } catch (error) {
      if (id === requested) onError(error.message);
    }
  }

  /** What output index `full` stands for: a sum of the two values (convolution) or a lag (correlation). */
  function label(full) {
    const m = inputs.b.length;
    return result.mode === "convolution" ? `${inputs.a0 + inputs.b0 + full}` : t("lag {lag}", { lag: full - (m - 1) + inputs.a0 - inputs.b0 });
  }

  function draw(flipping = false) {
    const s = result.steps[step];
    const n = inputs.a.length;
    const m = inputs.b.length;
    const stage = $("signal-stage");
    stage.textContent = "";
    stage.style.setProperty("--columns", String(n + 2 * (m - 1)));
    Object.assign(stage.dataset, { step: String(step), fullIndex: String(s.full_index) });
    const under = new Map(s.terms.map((t) => [t.i, t]));
    // a, from column m - 1; b (flipped for convolution) from column full_index, under it.
    const aRow = el("div", "signal-row");
    aRow.append(cell("a", "signal-name"));
    const aCells = el("div", "signal-cells");
    aCells.style.setProperty("--offset", String(m - 1));
    inputs.a.forEach((v, k) => aCells.append(cell(formatTick(v), `signal-a${under.has(k) ? " hit" : ""}`, t("a[{k}] (value {value})", { k, value: inputs.a0 + k }))));
    aRow.append(aCells);
    const bRow = el("div", "signal-row");
    bRow.append(cell(result.mode === "convolution" ? t("b flipped") : "b", "signal-name"));
    const slide = el("div", "signal-cells signal-slide");
    slide.style.setProperty("--offset", String(s.full_index));
    const inner = el("div", `signal-inner${flipping && result.mode === "convolution" ? " flipping" : ""}`);
    result.flipped_kernel.forEach((v, p) => {
      const j = result.mode === "convolution" ? m - 1 - p : p;
      const hit = s.terms.some((t) => t.j === j);
      inner.append(cell(formatTick(v), `signal-b${hit ? " hit" : ""}`, t("b[{j}] (value {value})", { j, value: inputs.b0 + j })));
    });
    slide.append(inner);
    bRow.append(slide);
    const pRow = el("div", "signal-row");
    pRow.append(cell("a·b", "signal-name"));
    const pCells = el("div", "signal-cells");
    pCells.style.setProperty("--offset", String(m - 1));
    inputs.a.forEach((_, k) => pCells.append(cell(under.has(k) ? formatTick(under.get(k).product) : "", "signal-p")));
    pRow.append(pCells);
    stage.append(aRow, bRow, pRow);
    // On a narrow screen the stage scrolls: keep the sliding kernel in view.
    const cellW = parseFloat(getComputedStyle(stage).getPropertyValue("--cell-w")) || 0;
    stage.scrollLeft = Math.max(0, s.full_index * cellW - stage.clientWidth / 3);
    const terms = s.terms.map((term) => `a[${term.i}]·b[${term.j}]`).join(" + ") || t("nothing overlaps");
    const products = s.terms.map((term) => formatTick(term.product)).join(" + ") || "0";
    const sum = $("signal-sum");
    sum.textContent = t("Output {step} ({label}): {terms} = {products} = ", { step, label: label(s.full_index), terms, products });
    const value = el("output", "step-sum", formatTick(s.sum));
    value.dataset.value = String(s.sum);
    sum.append(value);
    $("signal-where").textContent = t("output {step} of {count}", { step: step + 1, count: result.output.length });
    $("signal-prev").disabled = step === 0;
    $("signal-next").disabled = step === result.output.length - 1;
    drawOutput();
  }

  function drawOutput() {
    const host = $("signal-output");
    host.textContent = "";
    host.dataset.values = JSON.stringify(result.output);
    const top = Math.max(1e-12, ...result.output.map(Math.abs));
    result.output.forEach((v, i) => {
      const bar = el("div", `signal-bar${i === step ? " current" : ""}${i > step ? " later" : ""}`);
      const fill = el("span", "signal-fill");
      fill.style.height = `${(Math.abs(v) / top) * 100}%`;
      fill.classList.toggle("negative", v < 0);
      bar.append(fill, el("span", "signal-value", i === step ? formatTick(v) : ""), el("span", "signal-label", label(result.steps[i].full_index)));
      bar.title = t("output {i}: {value}", { i, value: v });
      host.append(bar);
    });
  }

  function go(to) {
    if (!result) return;
    step = Math.min(result.output.length - 1, Math.max(0, to));
    draw();
  }

  function stop() {
    clearInterval(timer);
    timer = 0;
    $("signal-play").setAttribute("aria-pressed", "false");
    $("signal-play").textContent = t("Play");
  }

  function play() {
    if (timer) return stop();
    if (!result) return;
    if (step === result.output.length - 1) go(0);
    $("signal-play").setAttribute("aria-pressed", "true");
    $("signal-play").textContent = t("Pause");
    timer = setInterval(() => {
      if (step >= result.output.length - 1) stop();
      else go(step + 1);
    }, PLAY_MS);
  }

  function show2d() {
    const host = $("signal-2d");
    host.textContent = "";
    for (const [caption, kernel, turning] of [
      [t("as written"), EXAMPLE_2D, false],
      [t("flipped (convolution slides this)"), applied(EXAMPLE_2D, "convolution"), true],
    ]) {
      const figure = el("figure", "applied-kernel");
      const table = el("table", `applied-grid${turning ? " turning" : ""}`);
      table.dataset.values = JSON.stringify(kernel);
      for (const row of kernel) {
        const tr = table.insertRow();
        for (const v of row) {
          const td = tr.insertCell();
          td.textContent = formatWeight(v);
          td.style.background = colorOf(v, "diverging", [-3, 3]);
          if (Math.abs(v) > 1.8) td.classList.add("strong");
        }
      }
      figure.append(table, el("figcaption", "", caption));
      host.append(figure);
    }
  }

  $("signal-preset").addEventListener("change", () => {
    const p = PRESETS[$("signal-preset").value];
    if (!p) return;
    $("signal-a").value = p.a;
    $("signal-a0").value = String(p.a0);
    $("signal-b").value = p.b;
    $("signal-b0").value = String(p.b0);
    run();
  });
  for (const id of ["signal-a", "signal-b", "signal-a0", "signal-b0"]) {
    $(id).addEventListener("change", () => {
      $("signal-preset").value = "";
      run();
    });
  }
  for (const input of document.querySelectorAll('input[name="signal-mode"]')) input.addEventListener("change", run);
  $("signal-padding").addEventListener("change", run);
  $("signal-prev").addEventListener("click", () => go(step - 1));
  $("signal-next").addEventListener("click", () => go(step + 1));
  $("signal-play").addEventListener("click", play);
  show2d();
  run();
  panel.dataset.state = "ready";
}
