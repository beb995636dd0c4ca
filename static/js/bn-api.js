/**
 * The BatchNorm lab's endpoints, through api.js (`request`: one error shape, ApiError with `detail`;
 * `apiUrl`: the query and the page's model).
 *
 *   const lab = await bnApi.lab({ samples: 64 });               // or { files: [File...] }, plus { file } or { inspect }
 *   const folded = await bnApi.fold();                         // formula numbers + equivalence, no weight arrays
 *   const run = await bnApi.highLr();                          // the high-learning-rate pair
 *
 * The served models and their cards are api.models().
 */

import { apiUrl, request } from "./api.js";

export const bnApi = {
  /**
   * POST /api/batchnorm. `samples` (a count) or `files` (Files) make the batch; `file` (a File) joins it
   * first and is inspected, else image number `inspect` of the batch is.
   */
  lab({ samples, files, file, inspect, signal } = {}) {
    const form = new FormData();
    if (files && files.length) for (const f of files) form.append("files", f, f.name || "image");
    else if (samples !== undefined) form.append("samples", String(samples));
    if (file) form.append("file", file, file.name || "image");
    else if (inspect !== undefined) form.append("inspect", String(inspect));
    return request(apiUrl("/api/batchnorm"), { form, signal });
  },

  /** GET /api/batchnorm/fold without the folded arrays (the page needs only the formula's numbers). */
  fold: () => request(apiUrl("/api/batchnorm/fold", { weights: false })),

  /** GET /api/batchnorm/high-lr (both networks' runs: not one model's). */
  highLr: () => request("/api/batchnorm/high-lr"),
};
