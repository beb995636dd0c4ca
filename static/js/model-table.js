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
import { formatList, formatNumber, t, tn } from "./i18n.js";

const MINUS = "\u2212";
const TIMES = "\u00d7";
const DOT = "\u00b7";

const int = (n) => formatNumber(n);
const columns = () => [t("output"), t("how the output size comes about"), t("parameters"), t("multiply-adds"), t("receptive field")];
const product = (xs) => xs.reduce((a, b) => a * b, 1);

/** "(28 − 5 + 2·2) / 1 + 1 = 28" for one axis (the numbers from conv-arithmetic.js). */
export function sizeArithmetic(w, k, s, p) {
  const { output: out, whole } = outputSize(w, k, s, p);
  const expr = `(${w} ${MINUS} ${k} + 2${DOT}${p}) / ${s} + 1`;
  return { out, text: whole ? `${expr} = ${out}` : `\u230a${expr}\u230b = ${out}` };
}

/** [rows, columns] of the layer's window: kernel, stride, padding, dilation (1 x 1 without a window). */
function windowOf(info) {
  const [kernel, stride, padding, dilation] = info.window || [
    [1, 1],
    [1, 1],
    [0, 0],
    [1, 1],
  ];
  return { kernel, stride, padding, dilation };
}

/** "5·5" for a square kernel, "3·1" for another. */
const kernelText = (k) => `${k[0]}${DOT}${k[1]}`;

function counts(info, input) {
  const noBias = t(" (no bias)");
  const out = info.output_shape;
  const cells = product(out);
  switch (info.kind) {
    case "conv": {
      const [cin] = input;
      const [cout] = out;
      const { kernel } = windowOf(info);
      const groups = info.groups || 1;
      const perFilter = (cin / groups) * kernel[0] * kernel[1];
      const bias = info.params === cout * perFilter ? 0 : cout; // a conv followed by BatchNorm may have no bias
      const fan = groups > 1 ? `(${cin}/${groups})${DOT}${kernelText(kernel)}` : `${cin}${DOT}${kernelText(kernel)}`;
      return {
        params: `${cout}${DOT}(${fan})${bias ? ` + ${cout}` : noBias} = ${int(cout * perFilter + bias)}`,
        paramsValue: cout * perFilter + bias,
        madds: t("{shape} outputs × {fan} = {count}", { shape: formatShape(out), fan, count: int(cells * perFilter) }),
        maddsValue: cells * perFilter,
      };
    }
    case "linear": {
      const fanIn = product(input);
      const [fanOut] = out;
      const bias = info.params === fanIn * fanOut ? 0 : fanOut;
      return {
        params: `${int(fanIn)}${DOT}${fanOut}${bias ? ` + ${fanOut}` : noBias} = ${int(fanIn * fanOut + bias)}`,
        paramsValue: fanIn * fanOut + bias,
        madds: `${int(fanIn)} ${TIMES} ${fanOut} = ${int(fanIn * fanOut)}`,
        maddsValue: fanIn * fanOut,
      };
    }
    case "batchnorm": {
      const [c] = out;
      return {
        params: `2${DOT}${c} (\u03b3, \u03b2) = ${int(2 * c)}`,
        paramsValue: 2 * c,
        madds: t("{count} (one a·x + b per value)", { count: int(cells) }),
        maddsValue: cells,
      };
    }
    case "maxpool": {
      const { kernel } = windowOf(info);
      return { params: "0", paramsValue: 0, madds: tn("0 ({n} comparison per output)", "0 ({n} comparisons per output)", kernel[0] * kernel[1] - 1, { n: kernel[0] * kernel[1] - 1 }), maddsValue: 0 };
    }
    case "avgpool": {
      const { kernel } = windowOf(info);
      const per = kernel[0] * kernel[1];
      return { params: "0", paramsValue: 0, madds: tn("0 ({n} addition and a division per output)", "0 ({n} additions and a division per output)", per - 1, { n: per - 1 }), maddsValue: 0 };
    }
    case "relu":
      return { params: "0", paramsValue: 0, madds: t("0 (max(0, x) per value)"), maddsValue: 0 };
    case "add":
      return { params: "0", paramsValue: 0, madds: tn("0 ({n} addition)", "0 ({n} additions)", cells, { n: int(cells) }), maddsValue: 0 };
    default:
      return { params: info.params ? int(info.params) : "0", paramsValue: info.params, madds: "0", maddsValue: 0 };
  }
}

/** How a windowed layer's output size comes about, per axis (one line when both agree). */
function windowText(info, input) {
  const out = info.output_shape;
  const [, h, w] = input;
  const { kernel, stride, padding, dilation } = windowOf(info);
  const span = (a) => dilation[a] * (kernel[a] - 1) + 1; // a dilated kernel covers this many pixels
  const rows = sizeArithmetic(h, span(0), stride[0], padding[0]);
  const cols = sizeArithmetic(w, span(1), stride[1], padding[1]);
  const same = h === w && kernel[0] === kernel[1] && stride[0] === stride[1] && padding[0] === padding[1] && dilation[0] === dilation[1];
  const channels = info.kind === "conv" ? tn("{n} filter", "{n} filters", out[0], { n: out[0] }) : tn("{n} channel, on its own", "{n} channels, each on its own", out[0], { n: out[0] });
  const side = same ? rows.text : t("rows {rows}; columns {columns}", { rows: rows.text, columns: cols.text });
  const k = same ? `K ${kernel[0]}, S ${stride[0]}, P ${padding[0]}` : `K ${kernel.join("\u00d7")}, S ${stride.join(",")}, P ${padding.join(",")}`;
  const d = dilation[0] > 1 || dilation[1] > 1 ? t(", dilation {dilation}: the kernel covers {h} × {w} pixels", { dilation: dilation.join(","), h: span(0), w: span(1) }) : "";
  const groups = info.kind === "conv" && info.groups > 1 ? t(", {n} groups", { n: info.groups }) : "";
  const global = info.kind === "avgpool" && out[1] === 1 && out[2] === 1 ? t("global average pooling: ") : "";
  return `${global}${side} (${k}${d}${groups}); ${channels}`;
}

function shapeText(info, input, sources) {
  const out = info.output_shape;
  if (info.kind === "input") return t("the image");
  if (info.window && input && input.length === 3) return windowText(info, input);
  if (info.kind === "linear") {
    const fanIn = product(input);
    const map = `${int(fanIn)} \u2192 ${out[0]}`;
    return input.length > 1 ? t("flatten {shape} = {count}, then {map}", { shape: input.join(DOT), count: int(fanIn), map }) : map;
  }
  if (info.kind === "flatten") return t("{shape} = {count} values in one vector", { shape: input.join(DOT), count: int(product(out)) });
  if (info.kind === "softmax") return t("{n} probabilities, summing to 1", { n: out[0] });
  if (info.kind === "add") return t("{sum}, value by value", { sum: sources.join(" + ") });
  const separator = t(", ");
  if (info.kind === "concat") return t("{layers} stacked: {n} channels", { layers: sources.join(separator), n: out[0] });
  if (info.kind === "dropout") return t("same as its input (dropout is off at inference)");
  return t("same as its input (per value)");
}

/** The receptive-field recurrence from the field of the layer this one takes (`from`), or why there is none. */
function fieldText(info, from, sources) {
  const rf = info.receptive_field;
  if (!rf) {
    if (info.kind === "input") return "";
    if (info.receptive_field_note) return t("n/a: {note}", { note: info.receptive_field_note });
    return info.output_shape.length === 3 ? t("n/a") : t("the whole image");
  }
  const field = t("r {size}, j {jump}, start {start}", { size: rf.size, jump: rf.jump, start: rf.start });
  if (info.kind === "input" || !from) return field;
  if (sources.length > 1) return t("{field}: the union of the fields of {layers}", { field, layers: formatList(sources) });
  const { kernel, stride, padding, dilation } = windowOf(info);
  const k = dilation[0] * (kernel[0] - 1) + 1;
  const [s, p] = [stride[0], padding[0]];
  if (k === 1 && s === 1 && p === 0) return t("{field} (unchanged)", { field });
  const size = `r = ${from.size} + (${k} ${MINUS} 1)${DOT}${from.jump} = ${rf.size}`;
  const jump = `j = ${from.jump}${DOT}${s} = ${rf.jump}`;
  const start = t("start = {start} + (({k} − 1)/2 − {p})·{jump} = {result}", { start: from.start, k, p, jump: from.jump, result: rf.start });
  return `${size}; ${jump}; ${start}`;
}

/** Fill the table's body and footer; returns the totals. */
export function renderArchitecture(table, model) {
  const body = table.tBodies[0];
  body.textContent = "";
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  let params = 0;
  let madds = 0;
  model.layers.forEach((info, i) => {
    // a layer takes the outputs of its `inputs` (a branchy network's add takes two), not just the row above
    const sources = info.inputs && info.inputs.length ? info.inputs : i > 0 ? [model.layers[i - 1].name] : [];
    const first = sources.length ? byName.get(sources[0]) : null;
    const input = first ? first.output_shape : model.input_shape;
    const row = el("tr");
    row.dataset.layer = info.name;
    row.dataset.kind = info.kind;
    const name = el("th", "layer-cell");
    name.scope = "row";
    name.append(el("span", "layer-name", info.name), " ", el("span", `badge badge-${info.kind}`, info.kind));
    if (sources.length > 1 || (first && i > 0 && model.layers[i - 1].name !== first.name)) name.append(el("span", "layer-inputs hint", ` \u2190 ${sources.join(", ")}`));
    const c = counts(info, input);
    const paramsCell = el("td", "num params", c.params);
    if (c.paramsValue !== info.params) paramsCell.append(el("span", "mismatch", t(" (server: {n})", { n: int(info.params) })));
    paramsCell.dataset.value = String(info.params);
    const maddsCell = el("td", "num madds", c.madds);
    maddsCell.dataset.value = String(c.maddsValue);
    const rf = info.receptive_field;
    const rfCell = el("td", "rf");
    if (rf) {
      rfCell.dataset.size = String(rf.size);
      rfCell.dataset.jump = String(rf.jump);
      rfCell.dataset.start = String(rf.start);
      rfCell.append(el("strong", "rf-size", `${rf.size} \u00d7 ${rf.size}`), el("span", "rf-jump", t(" jump {n}", { n: rf.jump })));
    } else if (info.receptive_field_note) {
      rfCell.dataset.note = info.receptive_field_note;
    }
    rfCell.append(el("div", "rf-arith formula", fieldText(info, first?.receptive_field || null, sources)));
    const cells = [el("td", "shape", formatShape(info.output_shape)), el("td", "arith formula", shapeText(info, input, sources)), paramsCell, maddsCell, rfCell];
    const labels = columns();
    cells.forEach((cell, k) => {
      cell.dataset.label = labels[k]; // on a phone each row becomes a card and each cell says what it is
    });
    row.append(name, ...cells);
    body.append(row);
    params += info.params;
    madds += c.maddsValue;
  });
  const foot = table.tFoot;
  foot.textContent = "";
  const total = el("tr");
  const label = el("th", "layer-cell", t("total"));
  label.scope = "row";
  const paramsTotal = el("td", "num params", int(params));
  paramsTotal.dataset.value = String(params);
  const maddsTotal = el("td", "num madds", int(madds));
  maddsTotal.dataset.value = String(madds);
  paramsTotal.dataset.label = t("parameters");
  maddsTotal.dataset.label = t("multiply-adds");
  const summary = t("{params} parameters, {madds} multiply-adds per image", { params: int(params), madds: int(madds) });
  total.append(label, el("td", "empty"), el("td", "hint", summary), paramsTotal, maddsTotal, el("td", "empty"));
  foot.append(total);
  return { params, madds };
}
