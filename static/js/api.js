/**
 * The ConvLens REST API from the browser.
 *
 *   import { api, ApiError } from "./api.js";
 *   const model = await api.model();
 *   const result = await api.activations({ sample: 7 });        // or { file }, or { pixels: 28x28 }
 *   const other = await api.activations({ sample: 7 }, { model: "lenet" });   // another served model
 *   result.layers[1].values                                      // Float32Array, C order of .shape
 *
 * Every call goes through `request`, which throws an `ApiError` whose message is the server's
 * `detail` when a response is not 2xx (or a plain-words message when the server cannot be reached). The
 * detail is the API's own English; on a page in another language the message starts with what the HTTP
 * status means in that language ("请求无效（422）：" + detail) and `error.detail` keeps the server's words
 * alone: test the detail, not the message, when the code reads it.
 * Every address of a model's API is built by `apiUrl`, which adds `?model=` once the page has chosen a
 * model with `setModel` (the model the page's address names, or its model switch); a call may name
 * another model with its own `model` option (the explorer's side-by-side comparison).
 * The training timeline's calls (`training`, `weights(name, {checkpoint})`, `activations(input, {checkpoint})`)
 * take a step from GET /api/training.
 * Arrays arrive as base64 of little-endian float32/float16; `decodeArray` turns them into Float32Array.
 */

import { API_DEFAULTS } from "./config.js";
import { LANG, t } from "./i18n.js";
import { rooted } from "./root.js";

/** What an HTTP error status means, said before the server's English detail on a page in another language. */
const STATUS_LEADS = {
  400: (status) => t("Bad request ({status}): ", { status }),
  404: (status) => t("Not found ({status}): ", { status }),
  408: (status) => t("The upload took too long ({status}): ", { status }),
  413: (status) => t("Too large ({status}): ", { status }),
  415: (status) => t("Not a file type the server reads ({status}): ", { status }),
  422: (status) => t("Invalid request ({status}): ", { status }),
  429: (status) => t("Too many requests, try again later ({status}): ", { status }),
  503: (status) => t("The server is busy, try again later ({status}): ", { status }),
};

/** The lead-in for `status` in the page's language ("" on an English page, whose message is the detail alone). */
export function statusLead(status) {
  if (LANG === "en" || !status) return "";
  if (STATUS_LEADS[status]) return STATUS_LEADS[status](status);
  return status >= 500 ? t("Server error ({status}): ", { status }) : t("The request was refused ({status}): ", { status });
}

export class ApiError extends Error {
  /**
   * @param {string} detail  the server's words (or ours, when there was no usable answer)
   * @param {number} status  HTTP status, 0 when there was no response
   * @param {{lead?: boolean}} [options]  lead: put the status's lead-in before the detail (a server's detail)
   */
  constructor(detail, status, { lead = false } = {}) {
    super(lead ? `${statusLead(status)}${detail}` : detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }
}

/**
 * fetch + JSON with one error shape. `url` is the site's own ("/api/..."): it is fetched under the path
 * prefix the app is served under (root.js).
 * @param {string} url
 * @param {{method?: string, json?: unknown, form?: FormData, signal?: AbortSignal}} [options]
 * @returns {Promise<any>} the parsed JSON body
 */
export async function request(url, { method, json, form, signal } = {}) {
  const init = { method: method || (json !== undefined || form ? "POST" : "GET"), signal, headers: {} };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (form) {
    init.body = form; // the browser sets the multipart boundary
  }
  init.headers.Accept = "application/json";
  let response;
  try {
    response = await fetch(rooted(url), init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(t("The server could not be reached. Is it still running?"), 0);
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    if (response.ok) throw new ApiError(t("The server sent something that is not JSON ({url}).", { url }), response.status);
  }
  if (!response.ok) {
    const detail = body && typeof body.detail === "string" ? body.detail : `${response.status} ${response.statusText}`;
    throw new ApiError(detail, response.status, { lead: true });
  }
  return body;
}

/* ---------------------------------------------------------------------------------------------- */
/* base64 -> typed arrays                                                                          */

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** base64 text -> bytes. */
export function base64ToBytes(text) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

let halfTable = null;

/** One IEEE 754 binary16 bit pattern -> its value. */
export function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** float16 bit patterns -> Float32Array, through a 65,536-entry table built on first use. */
export function float16ToFloat32(halves) {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) halfTable[bits] = halfToFloat(bits);
  }
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = halfTable[halves[i]];
  return out;
}

/**
 * Base64 of little-endian values -> Float32Array.
 * @param {string} data  base64
 * @param {"float32"|"float16"} dtype
 */
export function decodeArray(data, dtype = "float32") {
  const bytes = base64ToBytes(data);
  const size = dtype === "float16" ? 2 : 4;
  if (dtype !== "float32" && dtype !== "float16") throw new Error(`unknown dtype ${dtype}`);
  if (bytes.length % size) throw new Error(`${bytes.length} bytes is not a whole number of ${dtype} values`);
  const count = bytes.length / size;
  if (LITTLE_ENDIAN) {
    return dtype === "float32" ? new Float32Array(bytes.buffer, 0, count) : float16ToFloat32(new Uint16Array(bytes.buffer, 0, count));
  }
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = dtype === "float32" ? view.getFloat32(i * 4, true) : halfToFloat(view.getUint16(i * 2, true));
  return out;
}

/** A layer or tensor from the API with its `data` decoded into `values` (a Float32Array). */
export function decodeTensor(tensor) {
  const values = decodeArray(tensor.data, tensor.dtype);
  const expected = tensor.shape.reduce((a, b) => a * b, 1);
  if (values.length !== expected) throw new Error(`${tensor.name}: ${values.length} values for shape ${tensor.shape}`);
  const { data: _data, ...rest } = tensor;
  return { ...rest, values };
}

/* ---------------------------------------------------------------------------------------------- */
/* The endpoints                                                                                   */

let selectedModel = null; // the model every call names (?model=); null: the server's default

/** Make every later call carry `?model=name` (null: the server's default model). */
export function setModel(name) {
  selectedModel = name || null;
}

/** The model every call names unless told otherwise (null: the server's default). */
export function currentModel() {
  return selectedModel;
}

/**
 * The one way to build an API address: `path` with the query `params` (undefined, null and "" left
 * out) and the model chosen with setModel unless `params.model` names another, e.g.
 * apiUrl("/api/explain", { method: "gradcam" }).
 */
export function apiUrl(path, params = {}) {
  const { model = selectedModel, ...rest } = params;
  const entries = Object.entries({ ...rest, model }).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return entries.length ? `${path}?${new URLSearchParams(entries)}` : path;
}

/** POST one input ({file}, {sample} or {pixels}) with extra fields: multipart fields, or JSON keys. */
function postInput(url, input, fields, signal) {
  if (input.pixels) return request(url, { json: { pixels: input.pixels, ...fields }, signal });
  const form = new FormData();
  if (input.file) form.append("file", input.file, input.file.name || "upload");
  else if (input.sample !== undefined) form.append("sample", String(input.sample));
  else throw new Error("give a file, a sample or pixels");
  for (const [key, value] of Object.entries(fields)) form.append(key, String(value));
  return request(url, { form, signal });
}

/** A response's {shape, dtype, data} map decoded into {shape, min, max, values}. */
function decodeMap(map) {
  return decodeTensor({ name: "map", ...map });
}

export const api = {
  /** GET /api/models: the served models, with their cards' numbers. */
  models: () => request("/api/models"),

  /** GET /api/model: the architecture (of `model`, default the page's). */
  model: ({ model } = {}) => request(apiUrl("/api/model", { model })),

  /** GET /api/model/card: test and per-class accuracy, confusion matrix, misclassified digits, curve. */
  card: ({ model } = {}) => request(apiUrl("/api/model/card", { model })),

  /** GET /api/samples: [{id, label, predicted, label_name}] from the model's own test set. */
  samples: ({ model } = {}) => request(apiUrl("/api/samples", { model })),

  /** URL of a test image's PNG, from the test set of `model` (default the page's). */
  sampleUrl: (id, { model } = {}) => rooted(apiUrl(`/api/samples/${encodeURIComponent(id)}.png`, { model })),

  /**
   * GET /api/layers/{name}/weights, decoded: {name, kind, eps, tensors: {weight: {shape, values}, ...}}.
   */
  async weights(name, { dtype = "float32", signal, model, checkpoint } = {}) {
    const body = await request(apiUrl(`/api/layers/${encodeURIComponent(name)}/weights`, { dtype, model, checkpoint }), { signal });
    const tensors = {};
    for (const t of body.tensors) tensors[t.name] = decodeTensor(t);
    return { name: body.name, kind: body.kind, eps: body.eps, tensors };
  },

  /**
   * POST /api/activations for one input: `{file}` (a File/Blob), `{sample}` (a test-set id) or
   * `{pixels}` (H rows of W values in [0, 1], ink high). Resolves to
   * `{prediction: {label, probabilities}, layers: [{name, kind, shape, dtype, min, max, mean, values}]}`.
   * `override` ({channel, kernel}) replaces one conv1 filter for this request (`conv1_override`);
   * `checkpoint` (a full checkpoint's step) asks the network as it was at that training step.
   */
  async activations(input, { preprocess = API_DEFAULTS.preprocess, layers, dtype = API_DEFAULTS.dtype, signal, override, model, checkpoint } = {}) {
    const layerList = Array.isArray(layers) ? layers.join(",") : layers;
    const url = apiUrl("/api/activations", { preprocess, layers: layerList, dtype, model, checkpoint });
    let body;
    if (input.pixels) {
      body = await request(url, { json: override ? { pixels: input.pixels, conv1_override: override } : { pixels: input.pixels }, signal });
    } else {
      const form = new FormData();
      if (input.file) form.append("file", input.file, input.file.name || "upload");
      else if (input.sample !== undefined) form.append("sample", String(input.sample));
      else throw new Error("activations: give a file, a sample or pixels");
      if (override) form.append("conv1_override", JSON.stringify(override));
      body = await request(url, { form, signal });
    }
    return { prediction: body.prediction, layers: body.layers.map(decodeTensor) };
  },

  /**
   * POST /api/receptive-field: what unit (channel, y, x) of a spatial `layer` sees of this input.
   * `gradient` arrives decoded ({shape: [H, W], values}).
   */
  async receptiveField(input, { layer, channel, y, x }, { preprocess = API_DEFAULTS.preprocess, signal, model } = {}) {
    const body = await postInput(apiUrl("/api/receptive-field", { preprocess, model }), input, { layer, channel, y, x }, signal);
    return { ...body, gradient: decodeMap(body.gradient) };
  },

  /** POST /api/explain?method=saliency|gradcam|occlusion[&target=c]: an H x W `map` over the input, decoded. */
  async explain(input, { method, target }, { preprocess = API_DEFAULTS.preprocess, signal } = {}) {
    const body = await postInput(apiUrl("/api/explain", { method, target, preprocess }), input, {}, signal);
    return { ...body, map: decodeMap(body.map) };
  },

  /** GET /api/training: {model, checkpoints: [{step, epoch, images_seen, train_loss, test_accuracy, full}]}. */
  training: ({ signal, model } = {}) => request(apiUrl("/api/training", { model }), { signal }),

  /**
   * GET /api/training/drift for `model` (the argument, not the page's choice: the drift view compares two):
   * {model, layer, batchnorm, images, checkpoints: [{step, output: {mean, std}, after}]}.
   */
  drift: (model, layer, { signal } = {}) => request(apiUrl("/api/training/drift", { model, layer }), { signal }),

  /** GET /api/layers/{name}/channels/{c}/top: {layer, channel, examples: [{index, label, activation, y, x, box}]}. */
  top: (layer, channel, { signal, model } = {}) =>
    request(apiUrl(`/api/layers/${encodeURIComponent(layer)}/channels/${encodeURIComponent(channel)}/top`, { model }), { signal }),
};
