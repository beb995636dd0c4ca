/**
 * The architecture table of the model page: one row per layer of GET /api/model with the output-size
 * arithmetic, the parameter and multiply-add counts and the receptive-field recurrence written out.
 *
 *   renderArchitecture(document.getElementById("arch-table"), model);
 *
 * Every number is recomputed here from kernel/stride/padding and the shapes, and checked against the
 * server's (`params`, `output_shape`, `receptive_field`): a mismatch is shown, not hidden.
 */

import { outputSize } from "./conv-arithmetic.js";
import { el } from "./dom.js";
import { formatShape } from "./format.js";

const MINUS = "\u2212";
const TIMES = "\u00d7";
const DOT = "\u00b7";

const int = (n) => n.toLocaleString("en-US");
const COLUMNS = ["output", "how the output size comes about", "parameters", "multiply-adds", "receptive field"];
const product = (xs) => xs.reduce((a, b) => a * b, 1);

/** "(28 − 5 + 2·2) / 1 + 1 = 28" for one axis (the numbers from conv-arithmetic.js). */
export function sizeArithmetic(w, k, s, p) {
  const { output: out, whole } = outputSize(w, k, s, p);
  const expr = `(${w} ${MINUS} ${k} + 2${DOT}${p}) / ${s} + 1`;
  return { out, text: whole ? `${expr} = ${out}` : `\u230a${expr}\u230b = ${out}` };
}

function counts(info, input) {
  const out = info.output_shape;
  const cells = product(out);
  switch (info.kind) {
    case "conv": {
      const [cin] = input;
      const [cout] = out;
      const k = info.kernel_size;
      return {
        params: `${cout}${DOT}(${cin}${DOT}${k}${DOT}${k}) + ${cout} = ${int(cout * cin * k * k + cout)}`,
        paramsValue: cout * cin * k * k + cout,
        madds: `${formatShape(out)} outputs ${TIMES} ${cin}${DOT}${k}${DOT}${k} = ${int(cells * cin * k * k)}`,
        maddsValue: cells * cin * k * k,
      };
    }
    case "linear": {
      const fanIn = product(input);
      const [fanOut] = out;
      return {
        params: `${int(fanIn)}${DOT}${fanOut} + ${fanOut} = ${int(fanIn * fanOut + fanOut)}`,
        paramsValue: fanIn * fanOut + fanOut,
        madds: `${int(fanIn)} ${TIMES} ${fanOut} = ${int(fanIn * fanOut)}`,
        maddsValue: fanIn * fanOut,
      };
    }
    case "batchnorm": {
      const [c] = out;
      return {
        params: `2${DOT}${c} (\u03b3, \u03b2) = ${int(2 * c)}`,
        paramsValue: 2 * c,
        madds: `${int(cells)} (one a${DOT}x + b per value)`,
        maddsValue: cells,
      };
    }
    case "maxpool": {
      const k = info.kernel_size;
      return { params: "0", paramsValue: 0, madds: `0 (${k * k - 1} comparisons per output)`, maddsValue: 0 };
    }
    case "relu":
      return { params: "0", paramsValue: 0, madds: "0 (max(0, x) per value)", maddsValue: 0 };
    default:
      return { params: "0", paramsValue: 0, madds: "0", maddsValue: 0 };
  }
}

function shapeText(info, input) {
  const out = info.output_shape;
  if (info.kind === "input") return "the image";
  if (info.kind === "conv" || info.kind === "maxpool") {
    const [, h, w] = input;
    const rows = sizeArithmetic(h, info.kernel_size, info.stride, info.padding);
    const cols = sizeArithmetic(w, info.kernel_size, info.stride, info.padding);
    const channels = info.kind === "conv" ? `${out[0]} filters` : `${out[0]} channels, each on its own`;
    const side = h === w ? `${rows.text}` : `rows ${rows.text}; columns ${cols.text}`;
    return `${side} (K ${info.kernel_size}, S ${info.stride}, P ${info.padding}); ${channels}`;
  }
  if (info.kind === "linear") {
    const fanIn = product(input);
    const flat = input.length > 1 ? `flatten ${input.join(DOT)} = ${int(fanIn)}, then ` : "";
    return `${flat}${int(fanIn)} \u2192 ${out[0]}`;
  }
  if (info.kind === "softmax") return `${out[0]} probabilities, summing to 1`;
  return "same as its input (per value)";
}

function fieldText(info, previous) {
  const rf = info.receptive_field;
  if (!rf) return info.kind === "input" ? "" : "the whole image";
  if (!previous) return `r ${rf.size}, j ${rf.jump}, start ${rf.start}`;
  const k = info.kernel_size || 1;
  const s = info.stride || 1;
  const p = info.padding || 0;
  if (k === 1 && s === 1 && p === 0) return `r ${rf.size}, j ${rf.jump}, start ${rf.start} (unchanged)`;
  const size = `r = ${previous.size} + (${k} ${MINUS} 1)${DOT}${previous.jump} = ${rf.size}`;
  const jump = `j = ${previous.jump}${DOT}${s} = ${rf.jump}`;
  const start = `start = ${previous.start} + ((${k} ${MINUS} 1)/2 ${MINUS} ${p})${DOT}${previous.jump} = ${rf.start}`;
  return `${size}; ${jump}; ${start}`;
}

/** Fill the table's body and footer; returns the totals. */
export function renderArchitecture(table, model) {
  const body = table.tBodies[0];
  body.textContent = "";
  let input = model.input_shape;
  let previousField = null;
  let params = 0;
  let madds = 0;
  for (const info of model.layers) {
    const row = el("tr");
    row.dataset.layer = info.name;
    row.dataset.kind = info.kind;
    const name = el("th", "layer-cell");
    name.scope = "row";
    name.append(el("span", "layer-name", info.name), " ", el("span", `badge badge-${info.kind}`, info.kind));
    const c = counts(info, input);
    const paramsCell = el("td", "num params", c.params);
    if (c.paramsValue !== info.params) paramsCell.append(el("span", "mismatch", ` (server: ${int(info.params)})`));
    paramsCell.dataset.value = String(info.params);
    const maddsCell = el("td", "num madds", c.madds);
    maddsCell.dataset.value = String(c.maddsValue);
    const rf = info.receptive_field;
    const rfCell = el("td", "rf");
    if (rf) {
      rfCell.dataset.size = String(rf.size);
      rfCell.dataset.jump = String(rf.jump);
      rfCell.dataset.start = String(rf.start);
      rfCell.append(el("strong", "rf-size", `${rf.size} \u00d7 ${rf.size}`), el("span", "rf-jump", ` jump ${rf.jump}`));
    }
    rfCell.append(el("div", "rf-arith formula", fieldText(info, previousField)));
    const cells = [el("td", "shape", formatShape(info.output_shape)), el("td", "arith formula", shapeText(info, input)), paramsCell, maddsCell, rfCell];
    cells.forEach((cell, i) => {
      cell.dataset.label = COLUMNS[i]; // on a phone each row becomes a card and each cell says what it is
    });
    row.append(name, ...cells);
    body.append(row);
    params += info.params;
    madds += c.maddsValue;
    input = info.output_shape;
    if (rf) previousField = rf;
  }
  const foot = table.tFoot;
  foot.textContent = "";
  const total = el("tr");
  const label = el("th", "layer-cell", "total");
  label.scope = "row";
  const paramsTotal = el("td", "num params", int(params));
  paramsTotal.dataset.value = String(params);
  const maddsTotal = el("td", "num madds", int(madds));
  maddsTotal.dataset.value = String(madds);
  paramsTotal.dataset.label = "parameters";
  maddsTotal.dataset.label = "multiply-adds";
  total.append(label, el("td", "empty"), el("td", "hint", `${int(params)} parameters, ${int(madds)} multiply-adds per image`), paramsTotal, maddsTotal, el("td", "empty"));
  foot.append(total);
  return { params, madds };
}
