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

import { expressionFor } from "./conv-arithmetic.js";
import { el } from "./dom.js";
import { LANG, t } from "./i18n.js";

function trim(v) {
  return String(Number(v.toPrecision(6)));
}

/** Sentences one after the other, as the page's language runs them on. */
function sentences(parts) {
  return parts.filter(Boolean).join(LANG.startsWith("zh") ? "" : " ");
}

/** floor against ceil, in words, when the quotient is not whole. */
function roundings(name, axis) {
  const params = { floor: axis.output_floor, ceil: axis.output_ceil, remainder: axis.remainder, overhang: axis.overhang };
  const height = name === "height";
  const dropped = axis.rounding === "floor" && axis.remainder;
  const over = axis.rounding === "ceil" && axis.overhang;
  let floor = t("floor → {floor}", params);
  if (dropped) {
    floor = height
      ? t("floor → {floor} (the last {remainder} padded row(s) at the bottom are dropped)", params)
      : t("floor → {floor} (the last {remainder} padded column(s) at the right are dropped)", params);
  }
  let ceil = t("ceil → {ceil}", params);
  if (over) {
    ceil = height ? t("ceil → {ceil} (the last window overhangs the bottom by {overhang} row(s))", params) : t("ceil → {ceil} (the last window overhangs the right by {overhang} column(s))", params);
  }
  const [first, second] = axis.rounding === "floor" ? [floor, ceil] : [ceil, floor];
  const text = t("{quotient} is not whole: {first}; {second}.", { quotient: trim(axis.quotient), first, second });
  const p = el("p", "formula-rounding hint", text);
  p.dataset.floor = String(axis.output_floor);
  p.dataset.ceil = String(axis.output_ceil);
  return p;
}

/** How the server chose the padding (its `padding_rule`), in the page's language. */
function paddingRule(axis) {
  const rule = axis.padding_rule || "";
  const total = axis.pad_before + axis.pad_after;
  if (rule.startsWith("valid:")) return t("valid: no padding");
  if (rule === "no padding") return t("no padding");
  if (/^\d+ on every side$/.test(rule)) return t("{p} on every side", { p: axis.pad_before });
  if (rule.startsWith("same:")) {
    const out = Math.ceil(axis.input / axis.stride);
    const params = { size: axis.input, stride: axis.stride, out, kernel: axis.kernel, total, before: axis.pad_before, after: axis.pad_after };
    const text = t("same: output ceil({size}/{stride}) = {out}; total padding max(({out} - 1)*{stride} + {kernel} - {size}, 0) = {total}, split {before} before and {after} after", params);
    return total % 2 ? t("{rule} (the odd one goes after: bottom/right, as in PyTorch)", { rule: text }) : text;
  }
  return rule; // a rule this page does not know: the server's words
}

/** The uncovered input rows/columns, as the server lists them: "0, 3-5, ...". */
function uncoveredList(uncovered) {
  const where = uncovered
    .slice(0, 8)
    .map(([a, b]) => (a === b ? String(a) : `${a}-${b}`))
    .join(", ");
  return uncovered.length > 8 ? `${where}, ...` : where;
}

/** The server's note on rounding and uncovered pixels (its `note`), rebuilt from its numbers. */
function roundingNote(name, axis) {
  const letter = name === "height" ? "H" : "W";
  const height = name === "height";
  const span = axis.input + axis.pad_before + axis.pad_after - axis.kernel;
  const params = {
    span: `(${letter} - K + 2P) / S = ${span}/${axis.stride} = ${trim(axis.quotient)}`,
    output: axis.output,
    remainder: axis.remainder,
    overhang: axis.overhang,
    floor: axis.output_floor,
    ceil: axis.output_ceil,
  };
  let text;
  if (axis.whole) text = t("{span} is whole: the last window ends exactly at the end of the padded input.", params);
  else if (axis.rounding === "floor") {
    text = height
      ? t("{span} is not whole, so it is rounded down: {output} outputs, and the last {remainder} padded row(s) at the bottom are never inside a window (rounding up would give {ceil}).", params)
      : t("{span} is not whole, so it is rounded down: {output} outputs, and the last {remainder} padded column(s) at the right are never inside a window (rounding up would give {ceil}).", params);
  } else if (axis.overhang) {
    text = height
      ? t("{span} is not whole, so it is rounded up: {output} outputs, and the last window reaches {overhang} row(s) past the bottom of the padded input (rounding down would give {floor}).", params)
      : t("{span} is not whole, so it is rounded up: {output} outputs, and the last window reaches {overhang} column(s) past the right of the padded input (rounding down would give {floor}).", params);
  } else {
    text = height
      ? t("{span} is not whole; rounded up it would take one more window, but that one would start in the padding at the bottom, so it is not taken (as in PyTorch): {output} outputs, and the last {remainder} padded row(s) are never inside a window.", params)
      : t("{span} is not whole; rounded up it would take one more window, but that one would start in the padding at the right, so it is not taken (as in PyTorch): {output} outputs, and the last {remainder} padded column(s) are never inside a window.", params);
  }
  const uncovered = axis.uncovered || [];
  let coverage;
  if (uncovered.length) {
    const where = { count: uncovered.reduce((n, [a, b]) => n + b - a + 1, 0), where: uncoveredList(uncovered) };
    if (axis.stride > axis.kernel) {
      coverage = height
        ? t("{count} input row(s) never reach the output (the stride is larger than the kernel, so windows leave gaps): {where}.", where)
        : t("{count} input column(s) never reach the output (the stride is larger than the kernel, so windows leave gaps): {where}.", where);
    } else coverage = height ? t("{count} input row(s) never reach the output: {where}.", where) : t("{count} input column(s) never reach the output: {where}.", where);
  } else coverage = height ? t("Every input row is inside at least one window.") : t("Every input column is inside at least one window.");
  return sentences([text, coverage]);
}

/** The note under an axis of the server's arithmetic: its padding rule, then what rounding did. */
function serverNote(name, axis) {
  const rule = axis.padding_rule ? t("Padding rule: {rule}.", { rule: paddingRule(axis) }) : "";
  return sentences([rule, roundingNote(name, axis)]);
}

/** The server's axis ({input, pad_before, ...}) or the live one ({size, before, ...}): the formula with its numbers. */
function numbers(axis) {
  if (axis.span < 0) return t("{size} + {padding} padding < {kernel}: no room for the kernel", { size: axis.size, padding: axis.before + axis.after, kernel: axis.kernel });
  if (axis.input === undefined) return axis.expression;
  return expressionFor({ size: axis.input, kernel: axis.kernel, stride: axis.stride, before: axis.pad_before, after: axis.pad_after, rounding: axis.rounding, output: axis.output });
}

function line(name, axis, live) {
  const row = el("div", "formula-axis");
  row.dataset.axis = name;
  row.dataset.output = String(axis.output);
  const label = el("span", "formula-name", name === "height" ? t("H′ (rows)") : t("W′ (columns)"));
  const formula = el("code", "formula-text", axis.formula);
  row.append(label, formula, el("code", "formula-numbers", numbers(axis)));
  if (!axis.whole && axis.output_floor !== undefined && (axis.span ?? 0) >= 0) row.append(roundings(name, axis));
  if (!live && axis.note) row.append(el("p", "formula-note hint", serverNote(name, axis)));
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
    host.append(el("p", "formula-head", t("Output: none — the server refuses these settings")), el("p", "formula-refusal", refusal));
    return;
  }
  delete host.dataset.refused;
  const { height, width } = arithmetic;
  const fits = height.output >= 1 && width.output >= 1 && (height.span ?? 0) >= 0 && (width.span ?? 0) >= 0;
  host.dataset.height = String(height.output);
  host.dataset.width = String(width.output);
  const head = el("p", "formula-head", fits ? t("Output: {height} × {width} pixels", { height: height.output, width: width.output }) : t("Output: none — the kernel does not fit"));
  host.classList.toggle("bad", !fits);
  host.append(head, line("height", height, live), line("width", width, live));
}
