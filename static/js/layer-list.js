/**
 * The explorer's list of layer cards, for one model or for two side by side.
 *
 *   const list = new LayerList(document.getElementById("layers"), hooks);
 *   list.build([{ name: "lenet_bn", info }, { name: "lenet", info }]);   // info: GET /api/model
 *   list.setData("lenet", result);        // result: api.activations(), that model's layers
 *   list.paint({ mode: "layer" });        // every card, each model on its own network-wide range
 *   list.view("lenet", "conv1");          // a card's view (layer-view.js)
 *
 * Two models are aligned by layer name (alignLayers): a row holds the same layer of both, and a layer one
 * model lacks (lenet has no BatchNorm layers) leaves a gap that says so. Nothing here knows the layers: the
 * names, kinds and shapes all come from GET /api/model. The first model's cards have ids layer-<name>, the
 * second's layer-b-<name>.
 */

import { el } from "./dom.js";
import { t } from "./i18n.js";
import { createLayerView } from "./layer-view.js";
import { modelWords } from "./model-words.js";

/**
 * Two layer-name sequences merged into one order: [{name, a, b}] with a / b true where that model has the
 * layer. Shared names keep their order; a name only one model has comes where it stands in that model.
 */
export function alignLayers(a, b) {
  const rows = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const restA = new Set(a.slice(i));
    const restB = new Set(b.slice(j));
    if (i < a.length && j < b.length && a[i] === b[j]) {
      rows.push({ name: a[i], a: true, b: true });
      i += 1;
      j += 1;
    } else if (i < a.length && !restB.has(a[i])) {
      rows.push({ name: a[i], a: true, b: false });
      i += 1;
    } else if (j < b.length && !restA.has(b[j])) {
      rows.push({ name: b[j], a: false, b: true });
      j += 1;
    } else {
      // both names come later in the other model (the orders cross): take the first model's now
      rows.push({ name: a[i], a: true, b: false });
      i += 1;
    }
  }
  return rows;
}

/** The gap where a model has no such layer. */
function gap(model, layer) {
  const box = el("div", "layer-gap");
  box.dataset.model = model;
  box.dataset.layer = layer.name;
  const params = { model, layer: layer.name };
  const text = layer.kind === "batchnorm" ? t("{model} has no {layer}: it has no BatchNorm layers.", params) : t("{model} has no {layer}.", params);
  box.append(el("p", "", text));
  return box;
}

export class LayerList {
  /** @param {HTMLElement} list the <ol>  @param {object} hooks layer-view.js's hooks, plus weights(name, model) */
  constructor(list, hooks) {
    this.list = list;
    this.hooks = hooks;
    this.models = []; // [{name, info}]
    this.views = new Map(); // model -> Map(layer name -> view)
    this.maxima = new Map(); // model -> largest |value| in its last result
    this.reluClaim = null; // {with, without}: lenet_bn's and lenet_bn_norelu's test accuracy (GET /api/models)
  }

  /** Rebuild the cards for one or two models ({name, info} each). */
  build(models) {
    this.models = models;
    this.views = new Map();
    this.maxima = new Map();
    this.list.textContent = "";
    const pair = models.length === 2;
    this.list.classList.toggle("compare", pair);
    const byName = models.map(({ info }) => new Map(info.layers.map((l) => [l.name, l])));
    const names = models.map(({ info }) => info.layers.map((l) => l.name));
    const rows = pair ? alignLayers(names[0], names[1]) : names[0].map((name) => ({ name, a: true, b: false }));
    models.forEach(({ name }) => this.views.set(name, new Map()));
    for (const row of rows) {
      const li = el("li", "layer-row");
      li.dataset.layer = row.name;
      models.forEach(({ name, info }, k) => {
        const has = k === 0 ? row.a : row.b;
        if (!has) {
          li.append(gap(name, byName[1 - k].get(row.name)));
          return;
        }
        const view = this.makeView(name, info, row.name, k, pair);
        this.views.get(name).set(row.name, view);
        li.append(view.element);
      });
      this.list.append(li);
    }
  }

  makeView(model, info, layerName, k, pair) {
    const i = info.layers.findIndex((l) => l.name === layerName);
    const layer = info.layers[i];
    const before = i > 0 ? info.layers[i - 1] : null;
    const after = info.layers[i + 1];
    const hooks = { ...this.hooks, weights: (name) => this.hooks.weights(name, model) };
    // the layer it takes: its first input from the table (a branchy network's add takes two), else the row above
    const source = layer.inputs && layer.inputs.length ? info.layers.find((l) => l.name === layer.inputs[0]) || before : before;
    const firstConv = info.layers.find((l) => l.kind === "conv");
    const words = modelWords(info);
    return createLayerView(
      {
        ...layer,
        model,
        previous: source ? source.name : null,
        previousShape: source ? source.output_shape : null,
        nextKind: after ? after.kind : null,
        reluClaim: this.reluClaim,
        isOutput: layer.name === info.output,
        classes: info.classes && info.classes.map((_, c) => words.name(c)), // the class names in the page's language
        dataset: info.dataset,
        inputShape: info.input_shape,
        preprocess: info.input ? info.input.preprocess : null,
        firstConv: firstConv && firstConv.inputs && firstConv.inputs.includes("input") ? firstConv.name : null,
        normalization: info.normalization,
        idPrefix: k === 0 ? "layer" : "layer-b",
        tag: pair ? model : null,
      },
      hooks,
    );
  }

  /** The view of `layer` in `model`, or undefined. */
  view(model, layer) {
    return this.views.get(model)?.get(layer);
  }

  /** The view of the layer just before `view`'s, in the same model (null for the input). */
  previousOf(view) {
    return view.info.previous ? this.view(view.info.model, view.info.previous) || null : null;
  }

  /** Every view of every model. */
  *all() {
    for (const views of this.views.values()) yield* views.values();
  }

  /** Give `model`'s cards the layers of one result. */
  setData(model, result) {
    let max = 0;
    for (const layer of result.layers) {
      const view = this.view(model, layer.name);
      if (view) view.setData(layer);
      max = Math.max(max, Math.abs(layer.min), Math.abs(layer.max));
    }
    this.maxima.set(model, max || 1);
  }

  /** Forget every card's data (nothing to show). */
  clear() {
    for (const view of this.all()) view.clear();
  }

  /** Paint every card under colour mode `mode`; "network" uses each model's own largest value. */
  paint({ mode }) {
    for (const [model, views] of this.views) {
      const ctx = { mode, networkMax: this.maxima.get(model) || 1 };
      for (const view of views.values()) view.paint(ctx);
    }
  }
}
