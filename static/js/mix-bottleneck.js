/**
 * The lecture's bottleneck on the model page: squeeze C_in channels to C_mid with a 1 x 1 layer, then a
 * k x k layer C_mid -> C_out, against the k x k layer on all C_in channels directly (256 -> 64 -> 3 x 3 ->
 * 256 on 56 x 56 maps to start with). The counts come from GET /api/mix/bottleneck; every field shows its
 * range (GET /api/mix/limits) and a value out of it is refused with a sentence.
 *
 *   createBottleneck(host, limits, { onError });
 */

import { request } from "./api.js";
import { el } from "./dom.js";
import { formatNumber, t } from "./i18n.js";
import { scrollCue } from "./scroll-cue.js";

const TIMES = "\u00d7";
const int = (n) => formatNumber(n);
const FIELDS = [
  ["c_in", "C_in", 256, "max_channels", 1],
  ["c_mid", t("C_mid (after the 1 × 1)"), 64, "max_channels", 1],
  ["c_out", "C_out", 256, "max_channels", 1],
  ["kernel", "k", 3, "max_kernel", 1],
  ["height", "H = W", 56, "max_side", 1],
];

function row(cells, header = false) {
  const tr = el("tr");
  cells.forEach((text, i) => tr.append(el(header || i === 0 ? "th" : "td", i > 1 ? "num" : "", text)));
  return tr;
}

export function createBottleneck(host, limits, { onError }) {
  host.textContent = "";
  const form = el("form", "mix-form bottleneck-form");
  const inputs = {};
  for (const [name, label, value, limit, low] of FIELDS) {
    const field = el("label", "", `${label} `);
    const input = el("input");
    input.type = "number";
    input.id = `bottleneck-${name}`;
    input.min = String(low);
    input.max = String(limits[limit]);
    input.step = "1";
    input.value = String(value);
    input.inputMode = "numeric";
    field.append(el("span", "hint", `(${low}–${limits[limit]}) `), input);
    form.append(field);
    inputs[name] = input;
  }
  const table = el("table", "bottleneck-table");
  table.id = "bottleneck-table";
  const summary = el("p", "mix-counts bottleneck-summary");
  summary.id = "bottleneck-summary";
  summary.setAttribute("aria-live", "polite");
  const box = el("div", "table-scroll");
  box.append(table);
  host.append(form, box, summary);
  scrollCue(box, t("The bottleneck's counts")); // made after the page wired its boxes: wired here

  function read() {
    const values = {};
    for (const [name, label, , limit, low] of FIELDS) {
      const text = inputs[name].value.trim();
      const v = Number(text);
      const high = limits[limit];
      if (text === "" || !Number.isInteger(v) || v < low || v > high) {
        inputs[name].setAttribute("aria-invalid", "true");
        const problem = text
          ? t("{field}: {text} is out of range; type a whole number from {low} to {high}.", { field: label, text, low, high })
          : t("{field}: nothing is out of range; type a whole number from {low} to {high}.", { field: label, low, high });
        return { problem };
      }
      inputs[name].removeAttribute("aria-invalid");
      values[name] = v;
    }
    values.width = values.height;
    return { values };
  }

  async function run() {
    const { values, problem } = read();
    if (problem) {
      onError(problem);
      return;
    }
    let body;
    try {
      body = await request(`/api/mix/bottleneck?${new URLSearchParams(values)}`);
    } catch (error) {
      onError(error);
      return;
    }
    const [reduce, conv] = body.bottleneck.layers;
    const d = body.direct;
    const size = `${body.height}${TIMES}${body.width}`;
    table.textContent = "";
    const head = el("thead");
    head.append(row([t("path"), t("layer"), t("weights"), t("parameters"), t("multiply-adds")], true));
    const tbody = el("tbody");
    const describe = (c) => t("{k}×{k} conv, {cin} → {cout}", { k: c.kernel, cin: c.c_in, cout: c.c_out });
    const formula = (c) => `${c.c_out}${TIMES}${c.c_in}${TIMES}${c.kernel}${TIMES}${c.kernel} = ${int(c.weights)}`;
    tbody.append(
      row([t("bottleneck"), describe(reduce), formula(reduce), int(reduce.params), int(reduce.madds)]),
      row(["", describe(conv), formula(conv), int(conv.params), int(conv.madds)]),
      row(["", t("both"), "", int(body.bottleneck.params), int(body.bottleneck.madds)]),
      row([t("direct"), describe(d), formula(d), int(d.params), int(d.madds)]),
    );
    table.append(head, tbody);
    table.dataset.bottleneckParams = String(body.bottleneck.params);
    table.dataset.directParams = String(d.params);
    summary.textContent = t(
      "On {size} maps, squeezing {cin} channels to {cmid} first takes {params} parameters and {madds} multiply-adds; the {k}×{k} conv on all {din} channels takes {dparams} and {dmadds}: {pratio} times the parameters and {mratio} times the multiply-adds.",
      {
        size,
        cin: reduce.c_in,
        cmid: reduce.c_out,
        params: int(body.bottleneck.params),
        madds: int(body.bottleneck.madds),
        k: d.kernel,
        din: d.c_in,
        dparams: int(d.params),
        dmadds: int(d.madds),
        pratio: body.params_ratio.toFixed(1),
        mratio: body.madds_ratio.toFixed(1),
      },
    );
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  for (const input of Object.values(inputs)) input.addEventListener("change", run);
  return run();
}
