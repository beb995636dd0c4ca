/**
 * Choosing the served model a page shows, without reloading it (what the reader gave the page stays).
 *
 *   const models = await api.models();
 *   const pick = modelPicker(container, models, { current: "lenet_bn", onChange: (name) => ... });
 *   const other = modelPicker(container, models, { label: "Side by side with", none: "nothing", ... });
 *   pick.set("lenet");                     // the select follows, no onChange
 *   setAddress({ model: "lenet" });        // the page's address follows (history.replaceState)
 *
 * The server checked the page's address (?model=): <main data-model> holds the model to start with and the
 * error banner already explains a name it does not serve.
 */

import { el } from "./dom.js";

/** "lenet (without BatchNorm, 99.64%)" */
export function describeModel(m) {
  const accuracy = typeof m.test_accuracy === "number" ? `, ${(m.test_accuracy * 100).toFixed(2)}%` : "";
  return `${m.name} (${m.batchnorm ? "with" : "without"} BatchNorm${accuracy})`;
}

/**
 * A labelled <select> of `models` in `container`; `none` (a label) adds an empty choice first. Calls
 * onChange(name or null) when the reader picks. Returns {select, set(name)}.
 */
export function modelPicker(container, models, { current = null, label = "Model", id = "model-select", none = null, onChange }) {
  const wrap = el("label", "model-switch-label", `${label} `);
  const select = el("select");
  select.id = id;
  const choices = none ? [{ name: "", text: none }, ...models.map((m) => ({ name: m.name, text: describeModel(m) }))] : models.map((m) => ({ name: m.name, text: describeModel(m) }));
  for (const choice of choices) {
    const option = el("option", "", choice.text);
    option.value = choice.name;
    select.append(option);
  }
  select.value = current || "";
  select.addEventListener("change", () => onChange(select.value || null));
  wrap.append(select);
  container.append(wrap);
  return {
    select,
    set(name) {
      select.value = name || "";
    },
  };
}

/** Put `params` into the page's address (null or "" removes one), keeping the rest and the history entry. */
export function setAddress(params) {
  const url = new URL(window.location.href);
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") url.searchParams.delete(name);
    else url.searchParams.set(name, String(value));
  }
  window.history.replaceState(null, "", url);
}
