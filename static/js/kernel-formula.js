/**
 * The output-size formula on screen, with the numbers: H' and W', each as the formula, the formula with
 * the numbers filled in, and (once the server has answered) its note on rounding and uncovered pixels.
 *
 *   showFormula(host, geometry(28, 28, 3, 1, "same"), { live: true });   // as the controls change
 *   showFormula(host, result.arithmetic);                                 // the API's words
 */

import { el } from "./dom.js";

function line(name, axis, live) {
  const row = el("div", "formula-axis");
  row.dataset.axis = name;
  row.dataset.output = String(axis.output);
  const label = el("span", "formula-name", name === "height" ? "H′ (rows)" : "W′ (columns)");
  const formula = el("code", "formula-text", axis.formula);
  const numbers = el("code", "formula-numbers", axis.span < 0 ? `${axis.size} + ${axis.before + axis.after} padding < ${axis.kernel}: no room for the kernel` : axis.expression);
  row.append(label, formula, numbers);
  if (!live && axis.note) {
    const note = el("p", "formula-note hint", `${axis.padding_rule ? `Padding rule: ${axis.padding_rule}. ` : ""}${axis.note}`);
    row.append(note);
  }
  return row;
}

/** `arithmetic`: {height, width} (the API's, or conv-arithmetic.js's with `live`). */
export function showFormula(host, arithmetic, { live = false } = {}) {
  host.textContent = "";
  host.dataset.source = live ? "live" : "server";
  const { height, width } = arithmetic;
  const fits = height.output >= 1 && width.output >= 1 && (height.span ?? 0) >= 0 && (width.span ?? 0) >= 0;
  host.dataset.height = String(height.output);
  host.dataset.width = String(width.output);
  const head = el("p", "formula-head", fits ? `Output: ${height.output} × ${width.output} pixels` : "Output: none — the kernel does not fit");
  host.classList.toggle("bad", !fits);
  host.append(head, line("height", height, live), line("width", width, live));
}
