/**
 * The output-size formula on screen, with the numbers: H' and W', each as the formula, the formula with
 * the numbers filled in, what floor and ceil give when the division is not whole (the fractional value,
 * the rows/columns floor drops, how far ceil's last window overhangs), and (once the server has answered)
 * its note on rounding and uncovered pixels. Settings the server would refuse show why instead of a size.
 *
 *   showFormula(host, geometry(28, 28, 3, 1, "same"), { live: true });   // as the controls change
 *   showFormula(host, result.arithmetic);                                 // the API's words
 *   showFormula(host, null, { refusal: "Pooling padding: ..." });          // no size: the server says no
 */

import { el } from "./dom.js";

function trim(v) {
  return String(Number(v.toPrecision(6)));
}

/** floor against ceil, in words, when the quotient is not whole. */
function roundings(name, axis) {
  const unit = name === "height" ? "row" : "column";
  const end = name === "height" ? "bottom" : "right";
  const floor = `floor → ${axis.output_floor}${axis.rounding === "floor" && axis.remainder ? ` (the last ${axis.remainder} padded ${unit}(s) at the ${end} are dropped)` : ""}`;
  const overhang = axis.rounding === "ceil" && axis.overhang ? ` (the last window overhangs the ${end} by ${axis.overhang} ${unit}(s))` : "";
  const ceil = `ceil → ${axis.output_ceil}${overhang}`;
  const text = `${trim(axis.quotient)} is not whole: ${axis.rounding === "floor" ? `${floor}; ${ceil}` : `${ceil}; ${floor}`}.`;
  const p = el("p", "formula-rounding hint", text);
  p.dataset.floor = String(axis.output_floor);
  p.dataset.ceil = String(axis.output_ceil);
  return p;
}

function line(name, axis, live) {
  const row = el("div", "formula-axis");
  row.dataset.axis = name;
  row.dataset.output = String(axis.output);
  const label = el("span", "formula-name", name === "height" ? "H′ (rows)" : "W′ (columns)");
  const formula = el("code", "formula-text", axis.formula);
  const numbers = el("code", "formula-numbers", axis.span < 0 ? `${axis.size} + ${axis.before + axis.after} padding < ${axis.kernel}: no room for the kernel` : axis.expression);
  row.append(label, formula, numbers);
  if (!axis.whole && axis.output_floor !== undefined && (axis.span ?? 0) >= 0) row.append(roundings(name, axis));
  if (!live && axis.note) {
    const note = el("p", "formula-note hint", `${axis.padding_rule ? `Padding rule: ${axis.padding_rule}. ` : ""}${axis.note}`);
    row.append(note);
  }
  return row;
}

/** `arithmetic`: {height, width} (the API's, or conv-arithmetic.js's with `live`); `refusal`: words, or null. */
export function showFormula(host, arithmetic, { live = false, refusal = null } = {}) {
  host.textContent = "";
  host.dataset.source = live ? "live" : "server";
  if (refusal) {
    host.dataset.refused = "true";
    host.dataset.height = "";
    host.dataset.width = "";
    host.classList.add("bad");
    host.append(el("p", "formula-head", "Output: none — the server refuses these settings"), el("p", "formula-refusal", refusal));
    return;
  }
  delete host.dataset.refused;
  const { height, width } = arithmetic;
  const fits = height.output >= 1 && width.output >= 1 && (height.span ?? 0) >= 0 && (width.span ?? 0) >= 0;
  host.dataset.height = String(height.output);
  host.dataset.width = String(width.output);
  const head = el("p", "formula-head", fits ? `Output: ${height.output} × ${width.output} pixels` : "Output: none — the kernel does not fit");
  host.classList.toggle("bad", !fits);
  host.append(head, line("height", height, live), line("width", width, live));
}
