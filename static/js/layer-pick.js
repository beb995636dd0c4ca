/**
 * A segmented radio group choosing one layer (the BatchNorm page's bn1, bn2, bn3; the training page's maps
 * and drift layers), inside an existing
 * <fieldset class="segmented"> (its <legend> is kept); layers whose names do not fit in a row on a phone
 * (more than MANY_LAYERS, or longer than ROW_CHARS in all: a VGG's features.1 ... features.15) get a
 * <select> in the fieldset instead.
 *
 *   layerPick(fieldset, ["bn1", "bn2", "bn3"], (name) => show(name));   // calls back at once with the first
 */

import { el } from "./dom.js";
import { t } from "./i18n.js";

let groups = 0;
const MANY_LAYERS = 6;
const ROW_CHARS = 24;

export function layerPick(fieldset, names, onPick, initial = names[0]) {
  const group = `layer-pick-${fieldset.dataset.for || fieldset.id || ""}-${++groups}`;
  if (names.length > MANY_LAYERS || names.join("").length > ROW_CHARS) {
    fieldset.classList.add("bn-layer-select");
    const select = el("select");
    select.name = group;
    select.setAttribute("aria-label", fieldset.querySelector("legend")?.textContent || t("Layer"));
    for (const name of names) select.append(new Option(name, name, name === initial, name === initial));
    select.addEventListener("change", () => onPick(select.value));
    fieldset.append(select);
    onPick(initial);
    return {
      get value() {
        return select.value;
      },
    };
  }
  for (const name of names) {
    const label = el("label");
    const input = el("input");
    input.type = "radio";
    input.name = group;
    input.value = name;
    input.checked = name === initial;
    input.addEventListener("change", () => {
      if (input.checked) onPick(name);
    });
    const text = el("span", "", name);
    label.append(input, text);
    fieldset.append(label);
  }
  onPick(initial);
  return {
    get value() {
      return fieldset.querySelector("input:checked")?.value ?? initial;
    },
  };
}
