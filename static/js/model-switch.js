/**
 * The explorer's model switch: a <select> of the served models (GET /api/models). The choice lives in the
 * URL (?model=lenet); every api.js call then carries it (setModel). Switching reloads the page, since
 * the two networks have different layers.
 *
 *   const { model, problem } = await installModelSwitch(container);   // before the first api call
 */

import { api, setModel } from "./api.js";
import { el } from "./dom.js";

function describe(m) {
  const accuracy = typeof m.test_accuracy === "number" ? `, ${(m.test_accuracy * 100).toFixed(2)}%` : "";
  return `${m.name} (${m.batchnorm ? "with" : "without"} BatchNorm${accuracy})`;
}

/** Fill `container` with the switch; resolves to the model in use and any problem with ?model=. */
export async function installModelSwitch(container) {
  const url = new URL(window.location.href);
  const wanted = url.searchParams.get("model");
  let models = [];
  try {
    models = await api.models();
  } catch {
    return { model: null, problem: null }; // the page still works with the default model
  }
  const fallback = models.find((m) => m.default) || models[0];
  const known = models.find((m) => m.name === wanted);
  const current = known || fallback;
  const problem = wanted && !known ? `?model=${wanted} is not a served model; showing ${current.name}. Models: ${models.map((m) => m.name).join(", ")}.` : null;
  setModel(current.default ? null : current.name);
  if (models.length < 2) return { model: current.name, problem };

  const label = el("label", "brush model-switch", "Model ");
  const select = el("select");
  select.id = "model-select";
  for (const m of models) {
    const option = el("option", "", describe(m));
    option.value = m.name;
    option.selected = m.name === current.name;
    select.append(option);
  }
  select.addEventListener("change", () => {
    const next = new URL(window.location.href);
    const chosen = models.find((m) => m.name === select.value);
    if (chosen.default) next.searchParams.delete("model");
    else next.searchParams.set("model", chosen.name);
    window.location.assign(next);
  });
  label.append(select);
  container.append(label);
  container.dataset.model = current.name;
  return { model: current.name, problem };
}
