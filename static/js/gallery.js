/**
 * The sample gallery: MNIST test digits as buttons (image, label; the ones the model gets wrong are
 * marked with its prediction).
 *
 *   const gallery = renderGallery(container, samples, { onPick: (sample) => ... });
 *   gallery.select(id);   // mark the digit on screen (aria-pressed), or null for none
 */

import { api } from "./api.js";
import { el } from "./dom.js";

export function renderGallery(container, samples, { onPick }) {
  container.textContent = "";
  const buttons = new Map();
  for (const sample of samples) {
    const wrong = sample.label !== sample.predicted;
    const button = el("button", wrong ? "sample wrong" : "sample");
    button.type = "button";
    button.dataset.sample = String(sample.id);
    button.dataset.label = String(sample.label);
    button.dataset.predicted = String(sample.predicted);
    button.setAttribute("aria-pressed", "false");
    button.setAttribute(
      "aria-label",
      `Test digit ${sample.id}, a ${sample.label}${wrong ? `; the model says ${sample.predicted} (wrong)` : ""}`,
    );
    const img = el("img", "crisp");
    img.src = api.sampleUrl(sample.id);
    img.alt = "";
    img.width = 28;
    img.height = 28;
    img.loading = "lazy";
    const label = el("span", "sample-label", wrong ? `${sample.label}→${sample.predicted}` : String(sample.label));
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
