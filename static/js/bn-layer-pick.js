/**
 * A segmented radio group choosing one BatchNorm layer (bn1, bn2, bn3), inside an existing
 * <fieldset class="segmented"> (its <legend> is kept).
 *
 *   layerPick(fieldset, ["bn1", "bn2", "bn3"], (name) => show(name));   // calls back at once with the first
 */

import { el } from "./dom.js";

let groups = 0;

export function layerPick(fieldset, names, onPick, initial = names[0]) {
  const group = `bn-layer-${fieldset.dataset.for || ""}-${++groups}`;
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
