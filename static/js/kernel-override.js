/**
 * The explorer's notice that a hand-made conv1 filter is in use (sent from the kernel lab): which
 * filter, the kernel itself (numbers and colours), and a button that goes back to the trained one.
 *
 *   const notice = overrideNotice(override, { onClear });   main.prepend(notice);
 */

import { colorOf, domainFor } from "./heatmap.js";
import { formatWeight } from "./kernel-math.js";

function kernelTable(kernel) {
  const table = document.createElement("table");
  table.className = "override-kernel";
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
  const box = document.createElement("section");
  box.id = "override";
  box.className = "override-notice";
  box.setAttribute("aria-label", "Hand-made conv1 filter in use");
  const text = document.createElement("div");
  text.className = "override-text";
  const title = document.createElement("p");
  title.className = "override-title";
  title.textContent = `conv1 filter ${override.channel} is replaced by your ${override.kernel.length}×${override.kernel.length} kernel`;
  const note = document.createElement("p");
  note.className = "hint";
  note.textContent =
    "Every map and the prediction below use it (for these requests only; the served model is unchanged)." +
    (override.kernel.length < 5 ? " It is centred in conv1's 5×5 window, with zeros around it." : "");
  const actions = document.createElement("div");
  actions.className = "override-actions";
  const clear = document.createElement("button");
  clear.type = "button";
  clear.id = "override-clear";
  clear.className = "button primary";
  clear.textContent = "Use the trained filter again";
  clear.addEventListener("click", () => {
    box.remove();
    onClear();
  });
  const edit = document.createElement("a");
  edit.className = "button";
  edit.href = "/kernels";
  edit.textContent = "Back to the kernel lab";
  actions.append(clear, edit);
  text.append(title, note, actions);
  box.append(kernelTable(override.kernel), text);
  box.dataset.channel = String(override.channel);
  return box;
}
