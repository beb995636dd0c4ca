/**
 * The explorer's notice that a hand-made conv1 filter is in use (sent from the kernel lab): which
 * filter, the kernel itself (numbers and colours), and a button that goes back to the trained one.
 *
 *   const notice = overrideNotice(override, { onClear });   main.prepend(notice);
 */

import { el } from "./dom.js";
import { colorOf, domainFor } from "./heatmap.js";
import { t } from "./i18n.js";
import { formatWeight } from "./kernel-math.js";
import { rooted } from "./root.js";

function kernelTable(kernel) {
  const table = el("table", "override-kernel");
  const m = Math.max(...kernel.flat().map(Math.abs)) || 1;
  const domain = domainFor("diverging", -m, m);
  for (const row of kernel) {
    const tr = table.insertRow();
    for (const v of row) {
      const td = tr.insertCell();
      td.textContent = formatWeight(v);
      td.style.background = colorOf(v, "diverging", domain);
      if (Math.abs(v) > 0.6 * m) td.classList.add("strong");
    }
  }
  return table;
}

/** The notice element; `onClear` runs when the person asks for the trained filter back. */
export function overrideNotice(override, { onClear }) {
  const box = el("section", "override-notice");
  box.id = "override";
  box.setAttribute("aria-label", t("Hand-made conv1 filter in use"));
  const text = el("div", "override-text");
  const size = override.kernel.length;
  const title = el("p", "override-title", t("conv1 filter {channel} is replaced by your {k}×{k} kernel", { channel: override.channel, k: size }));
  const note = el("p", "hint");
  note.textContent =
    size < 5
      ? t("Every map and the prediction below use it (for these requests only; the served model is unchanged). It is centred in conv1's 5×5 window, with zeros around it.")
      : t("Every map and the prediction below use it (for these requests only; the served model is unchanged).");
  const actions = el("div", "override-actions");
  const clear = el("button", "button primary", t("Use the trained filter again"));
  clear.type = "button";
  clear.id = "override-clear";
  clear.addEventListener("click", () => {
    box.remove();
    onClear();
  });
  const edit = el("a", "button", t("Back to the kernel lab"));
  edit.href = rooted("/kernels");
  actions.append(clear, edit);
  text.append(title, note, actions);
  box.append(kernelTable(override.kernel), text);
  box.dataset.channel = String(override.channel);
  return box;
}
