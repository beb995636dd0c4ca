/**
 * The training section: the test-accuracy curves of the same network trained with and without BatchNorm
 * (BN_PAGE.compare: lenet_bn and lenet, from their model cards, GET /api/models) on the same axes, the
 * high-learning-rate pair (GET /api/batchnorm/high-lr), and the numbers written out in tables. Other served
 * models (with BatchNorm or not) are another network or another recipe, so they are not drawn here; a pair
 * that is not served is said so.
 */

import { bnApi } from "./bn-api.js";
import { lineChart } from "./bn-charts.js";
import { BN_PAGE } from "./config.js";
import { el } from "./dom.js";

const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(2)}%`);
const color = (run) => (run.batchnorm ? BN_PAGE.colors.batchnorm : BN_PAGE.colors.plain);
const describe = (run) => (run.batchnorm ? "with BatchNorm" : "without BatchNorm");

/** Epochs per step, from any curve point (all runs share the batch size). */
function epochsPerStep(runs) {
  for (const run of runs) for (const p of run.curve) if (p.step) return p.epoch / p.step;
  return 0;
}

/** Chart series; a run that diverged ends with its test accuracy where training stopped. */
function toSeries(runs) {
  const perStep = epochsPerStep(runs);
  return runs.map((run) => {
    const points = run.curve.map((p) => ({ x: p.epoch, y: p.test_accuracy }));
    const divergedAt = run.diverged_at_step ? run.diverged_at_step * perStep : null;
    if (divergedAt !== null && typeof run.test_accuracy === "number") points.push({ x: divergedAt, y: run.test_accuracy });
    return { name: run.name, color: color(run), points, divergedAt };
  });
}

function legend(box, runs) {
  box.textContent = "";
  for (const run of runs) {
    const item = el("span", "bn-legend-item");
    const swatch = el("span", "bn-swatch");
    swatch.style.background = color(run);
    item.append(swatch, `${run.name} (${describe(run)})`);
    box.append(item);
  }
}

function table(host, runs, epochs) {
  host.textContent = "";
  const head = host.createTHead().insertRow();
  for (const text of ["model", ...epochs.map((e) => `epoch ${e}`), "final", "first ≥ 99%", "diverged", "wall time"]) {
    const th = el("th", "", text);
    th.scope = "col";
    head.append(th);
  }
  const body = host.createTBody();
  for (const run of runs) {
    const row = body.insertRow();
    row.dataset.model = run.name;
    const name = el("th", "", `${run.name} (${describe(run)})`);
    name.scope = "row";
    row.append(name);
    for (const e of epochs) row.insertCell().textContent = pct(run.history.find((h) => h.epoch === e)?.test_accuracy);
    row.insertCell().textContent = pct(run.test_accuracy);
    const first = run.curve.find((p) => p.test_accuracy >= 0.99);
    row.insertCell().textContent = first ? `epoch ${first.epoch.toFixed(2)} (step ${first.step})` : "never";
    row.insertCell().textContent = run.diverged_at_step ? `step ${run.diverged_at_step}` : "no";
    row.insertCell().textContent = run.wall_time_seconds ? `${Math.round(run.wall_time_seconds)} s` : "–";
  }
}

function summary(runs) {
  const [bn, plain] = [runs.find((r) => r.batchnorm), runs.find((r) => !r.batchnorm)];
  if (!bn || !plain) return "";
  const at = (run, e) => run.history.find((h) => h.epoch === e)?.test_accuracy;
  const first = (run) => run.curve.find((p) => p.test_accuracy >= 0.99);
  const reach = (run) => (first(run) ? `epoch ${first(run).epoch.toFixed(2)}` : "never");
  let text = `After one epoch: ${pct(at(bn, 1))} with BatchNorm, ${pct(at(plain, 1))} without. `;
  text += `99% test accuracy first reached at ${reach(bn)} with BatchNorm and ${reach(plain)} without. `;
  text += `Final: ${pct(bn.test_accuracy)} against ${pct(plain.test_accuracy)}.`;
  if (plain.diverged_at_step) text += ` Without BatchNorm the loss became NaN/inf at step ${plain.diverged_at_step} and training stopped.`;
  if (bn.diverged_at_step) text += ` With BatchNorm the loss became NaN/inf at step ${bn.diverged_at_step}.`;
  return text;
}

/** The two models compared: the one with BatchNorm first. Missing ones are named in `missing`. */
export function comparedRuns(models) {
  const runs = BN_PAGE.compare.map((name) => models.find((m) => m.name === name)).filter(Boolean);
  const missing = BN_PAGE.compare.filter((name) => !models.some((m) => m.name === name));
  return { runs: [...runs.filter((m) => m.batchnorm), ...runs.filter((m) => !m.batchnorm)], missing };
}

/** Draw the section; resolves when both charts are drawn. Errors go to `onError`. */
export async function initTraining(section, models, onError) {
  const $ = (selector) => section.querySelector(selector);
  const { runs, missing } = comparedRuns(models);
  if (missing.length) {
    const note = $("#curves-missing");
    note.textContent = `The comparison needs ${BN_PAGE.compare.join(" and ")}, the same network trained with and without BatchNorm; ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not served here${runs.length ? `, so only ${runs.map((r) => r.name).join(", ")} is drawn` : ""}.`;
    note.hidden = false;
  }
  let high = null;
  try {
    high = await bnApi.highLr();
  } catch (error) {
    $("#high-lr-summary").textContent = "No high-learning-rate run is recorded on this server.";
    if (error.status !== 404) onError(error);
  }
  let mode = section.querySelector('input[name="curve-mode"]:checked').value;

  const draw = () => {
    const curves = $("#curves");
    curves.textContent = "";
    if (runs.length) curves.append(lineChart(toSeries(runs), { mode, height: BN_PAGE.lineHeight, label: "Test accuracy by epoch, with and without BatchNorm" }));
    if (high) {
      const box = $("#high-lr");
      box.textContent = "";
      box.append(lineChart(toSeries(high.runs), { mode, height: BN_PAGE.lineHeight, label: `Test accuracy by epoch at peak learning rate ${high.max_lr}` }));
    }
    section.dataset.mode = mode;
  };
  for (const radio of section.querySelectorAll('input[name="curve-mode"]')) {
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      mode = radio.value;
      draw();
    });
  }

  const recipe = runs[0];
  $("#training-recipe").textContent = recipe
    ? `${runs.length > 1 ? "Both trained with the same seed, optimiser and schedule" : `${recipe.name} was trained with`}: ${recipe.epochs} epochs of ${recipe.steps} steps in all, batches of ${recipe.batch_size}, SGD with Nesterov momentum, one-cycle learning rate peaking at ${recipe.max_lr}. Test accuracy on the ${recipe.dataset === "mnist" ? "MNIST test digits" : "test set"}, every few hundred steps.`
    : "";
  legend($("#curves-legend"), runs);
  const longest = Math.max(0, ...runs.map((r) => r.history.length));
  table($("#curves-table"), runs, [1, 2, 3, 5, 10].filter((e) => e < longest));
  $("#curves-summary").textContent = summary(runs);
  if (high) {
    $("#high-lr-recipe").textContent = high.description;
    legend($("#high-lr-legend"), high.runs);
    table($("#high-lr-table"), high.runs, Array.from({ length: high.epochs - 1 }, (_, i) => i + 1));
    $("#high-lr-summary").textContent = summary(high.runs);
    $("#high-lr-commands").textContent = high.commands.join("\n");
  }
  draw();
  Object.assign(section.dataset, { state: "ready", curves: String(runs.length), highLrCurves: String(high ? high.runs.length : 0) });
}
