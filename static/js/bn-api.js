/**
 * The BatchNorm lab's endpoints, through api.js's `request` (one error shape: ApiError with `detail`).
 *
 *   const models = await bnApi.models();                       // [{name, batchnorm, curve, history, ...}]
 *   const lab = await bnApi.lab({ samples: 64 });               // or { files: [File...] }, plus { file } or { inspect }
 *   const folded = await bnApi.fold();                         // formula numbers + equivalence, no weight arrays
 *   const run = await bnApi.highLr();                          // the high-learning-rate pair
 */

import { request } from "./api.js";

function withModel(url, model) {
  return model ? `${url}${url.includes("?") ? "&" : "?"}model=${encodeURIComponent(model)}` : url;
}

export const bnApi = {
  /** GET /api/models. */
  models: () => request("/api/models"),

  /**
   * POST /api/batchnorm. `samples` (a count) or `files` (Files) make the batch; `file` (a File) joins it
   * first and is inspected, else image number `inspect` of the batch is.
   */
  lab({ samples, files, file, inspect, model, signal } = {}) {
    const form = new FormData();
    if (files && files.length) for (const f of files) form.append("files", f, f.name || "image");
    else if (samples !== undefined) form.append("samples", String(samples));
    if (file) form.append("file", file, file.name || "image");
    else if (inspect !== undefined) form.append("inspect", String(inspect));
    return request(withModel("/api/batchnorm", model), { form, signal });
  },

  /** GET /api/batchnorm/fold without the folded arrays (the page needs only the formula's numbers). */
  fold: ({ model } = {}) => request(withModel("/api/batchnorm/fold?weights=false", model)),

  /** GET /api/batchnorm/high-lr. */
  highLr: () => request("/api/batchnorm/high-lr"),
};
