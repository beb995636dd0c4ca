/**
 * "What slides over the image": each kernel as it is actually applied, i.e. as written for
 * cross-correlation and flipped in both axes (a half turn) for convolution. Switching the mode turns the
 * grids visibly: the new grid starts a half turn back, looking exactly like the old one, and rotates into
 * place.
 *
 *   const view = new AppliedView(host, hintEl);
 *   view.show([{ label: "A", kernel }], "convolution");
 */

import { el } from "./dom.js";
import { colorOf, inkOn } from "./heatmap.js";
import { t } from "./i18n.js";
import { applied, formatWeight } from "./kernel-math.js";

export class AppliedView {
  constructor(host, hint) {
    this.host = host;
    this.hint = hint;
    this.mode = null;
  }

  show(kernels, mode) {
    const turned = this.mode !== null && this.mode !== mode;
    this.mode = mode;
    this.host.textContent = "";
    this.host.dataset.mode = mode;
    for (const { label, kernel, slot } of kernels) {
      const weights = applied(kernel, mode);
      const figure = el("figure", "applied-kernel");
      const table = el("table", "applied-grid");
      table.id = `applied-${slot}`;
      table.dataset.values = JSON.stringify(weights);
      table.setAttribute("aria-label", mode === "convolution" ? t("Kernel {label} as applied (convolution)", { label }) : t("Kernel {label} as applied (cross-correlation)", { label }));
      const m = Math.max(1e-12, ...weights.flat().map(Math.abs));
      for (const row of weights) {
        const tr = table.insertRow();
        for (const v of row) {
          const td = tr.insertCell();
          td.textContent = formatWeight(v);
          const background = colorOf(v, "diverging", [-m, m]);
          td.style.background = background;
          td.style.color = inkOn(background); // black or white, whichever reads better (WCAG contrast)
          if (Math.abs(v) > 0.6 * m) td.classList.add("strong");
        }
      }
      if (turned && weights.length > 1) table.classList.add("turning");
      const caption = el("figcaption", "", mode === "convolution" ? t("{label}, flipped", { label }) : t("{label}, as written", { label }));
      figure.append(table, caption);
      this.host.append(figure);
    }
    this.hint.textContent =
      mode === "convolution"
        ? t("Convolution flips the kernel in both axes (a half turn) before sliding it, as in mathematics and scipy's convolve2d.")
        : t("Cross-correlation slides the kernel as written (what deep-learning libraries call convolution).");
  }
}
