/**
 * Choosing the served model a page shows, without reloading it (what the reader gave the page stays).
 *
 *   const models = await api.models();
 *   const pick = modelPicker(container, models, { current: "lenet_bn", onChange: (name) => ... });
 *   const other = modelPicker(container, models, { label: "Side by side with", none: "nothing", ... });
 *   pick.set("lenet");                     // the select follows, no onChange
 *   setAddress({ model: "lenet" });        // the page's address follows (history.replaceState)
 *   reloadingPicker(container, models, { current, drop: ["step"] });   // opens the page again for the choice
 *   link.href = pageUrl("/", { sample: 12 });   // "/?sample=12&model=fashion_vgg" (no ?model= for the default)
 *
 * The server checked the page's address (?model=): <main data-model> holds the model to start with and the
 * error banner already explains a name it does not serve.
 */

import { currentModel } from "./api.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { rooted } from "./root.js";

const DATASETS = { mnist: "MNIST", "fashion-mnist": "Fashion-MNIST" };

/** "lenet (MNIST, without BatchNorm, 99.64%)", in the page's language. */
export function describeModel(m) {
  const said = {
    name: m.name,
    data: m.dataset ? DATASETS[m.dataset] || m.dataset : "",
    accuracy: typeof m.test_accuracy === "number" ? `${(m.test_accuracy * 100).toFixed(2)}%` : "",
  };
  if (said.data && said.accuracy) {
    return m.batchnorm ? t("{name} ({data}, with BatchNorm, {accuracy})", said) : t("{name} ({data}, without BatchNorm, {accuracy})", said);
  }
  if (said.data) return m.batchnorm ? t("{name} ({data}, with BatchNorm)", said) : t("{name} ({data}, without BatchNorm)", said);
  if (said.accuracy) return m.batchnorm ? t("{name} (with BatchNorm, {accuracy})", said) : t("{name} (without BatchNorm, {accuracy})", said);
  return m.batchnorm ? t("{name} (with BatchNorm)", said) : t("{name} (without BatchNorm)", said);
}

/**
 * A labelled <select> of `models` in `container`; `none` (a label) adds an empty choice first. Calls
 * onChange(name or null) when the reader picks. Returns {select, set(name)}.
 */
export function modelPicker(container, models, { current = null, label = t("Model"), id = "model-select", none = null, onChange }) {
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

const REFOCUS = "convlens-model-switch-focus"; // sessionStorage: the page opened again from its switch

/**
 * A picker that opens the page again for the chosen model (for pages whose sections are built once for
 * one model): ?model= names it (left out for the default), the parameters in `drop` (which only meant
 * something for the old model) are removed. Nothing is drawn for a single model.
 */
export function reloadingPicker(container, models, { current, drop = [] } = {}) {
  if (models.length < 2) return null;
  const picker = modelPicker(container, models, {
    current,
    onChange: (name) => {
      const url = new URL(window.location.href);
      for (const param of drop) url.searchParams.delete(param);
      const chosen = models.find((m) => m.name === name);
      if (!chosen || chosen.default) url.searchParams.delete("model");
      else url.searchParams.set("model", name);
      // a keyboard's arrow key changes the choice at once: the page opens again with the switch focused,
      // so the next arrow key goes on through the models
      sessionStorage.setItem(REFOCUS, window.location.pathname);
      window.location.assign(url);
    },
  });
  if (sessionStorage.getItem(REFOCUS) === window.location.pathname) picker.select.focus();
  sessionStorage.removeItem(REFOCUS);
  return picker;
}

/**
 * The address of one of the site's pages with `params`, showing `params.model` (default: the model the page
 * shows, api.js's currentModel); ?model= is left out for the model an address without it shows
 * (<main data-default-model>), so links to the lecture's network stay short.
 */
export function pageUrl(path, params = {}) {
  const { model = currentModel(), ...rest } = params;
  const fallback = document.getElementById("main")?.dataset.defaultModel;
  const entries = Object.entries({ ...rest, model: model === fallback ? null : model }).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return rooted(entries.length ? `${path}?${new URLSearchParams(entries)}` : path);
}
