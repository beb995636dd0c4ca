/**
 * The sample gallery: the model's test images as buttons (image, class; the ones the model gets wrong are
 * marked with its prediction), named by the model's classes (model-words.js).
 *
 *   const gallery = renderGallery(container, samples, { onPick: (sample) => ..., words });
 *   gallery.select(id);   // mark the image on screen (aria-pressed), or null for none
 *
 * The images come from the page's model (api.js's setModel) unless `model` names another.
 */

import { api } from "./api.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { modelWords } from "./model-words.js";

export function renderGallery(container, samples, { onPick, words = modelWords(null), model } = {}) {
  container.textContent = "";
  container.classList.toggle("named", words.named);
  const buttons = new Map();
  for (const sample of samples) {
    const wrong = sample.label !== sample.predicted;
    const button = el("button", wrong ? "sample wrong" : "sample");
    button.type = "button";
    button.dataset.sample = String(sample.id);
    button.dataset.label = String(sample.label);
    button.dataset.predicted = String(sample.predicted);
    button.setAttribute("aria-pressed", "false");
    const named = { item: words.item, id: sample.id, a: words.a(sample.label), name: words.name(sample.label), predicted: words.name(sample.predicted) };
    button.setAttribute(
      "aria-label",
      wrong ? t("Test {item} {id}, {a}; the model says {predicted} (wrong)", named) : t("Test {item} {id}, {a}", named),
    );
    if (words.named) button.title = wrong ? t("#{id}: {name}, read as {predicted}", named) : t("#{id}: {name}", named);
    const img = el("img", "crisp");
    img.src = api.sampleUrl(sample.id, { model });
    img.alt = "";
    img.width = 28;
    img.height = 28;
    img.loading = "lazy";
    // a class name that is a word does not fit beside the prediction: the wrong mark and the title say it
    const text = words.named || !wrong ? words.name(sample.label) : `${sample.label}→${sample.predicted}`;
    const label = el("span", "sample-label", text);
    button.append(img, label);
    button.addEventListener("click", () => onPick(sample));
    container.append(button);
    buttons.set(sample.id, button);
  }
  return {
    select(id) {
      for (const [key, button] of buttons) button.setAttribute("aria-pressed", String(key === id));
    },
  };
}
