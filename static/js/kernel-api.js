/**
 * The kernel lab's endpoints from the browser, decoded.
 *
 *   const result = await kernelApi.convolve(source, spec, { padded: true });
 *   result.outputs[0].values     // Float32Array (C, H', W'), C order
 *   result.padded.values         // the padded input the kernels saw (with { padded: true })
 *   const presets = await kernelApi.presets();
 *   const limits = await kernelApi.limits();     // what the server refuses, to check before asking
 *
 * `source` is {sample} (a test-digit id) or {file} (a File/Blob). Errors are api.js's ApiError, whose
 * message is the server's `detail` (it names the field at fault).
 */

import { decodeArray, request } from "./api.js";

function form(source, spec) {
  const data = new FormData();
  if (source.file) data.append("file", source.file, source.file.name || "image.png");
  else if (source.sample !== undefined && source.sample !== null) data.append("sample", String(source.sample));
  else throw new Error("kernel lab: the image source has neither a file nor a sample");
  data.append("spec", JSON.stringify(spec));
  return data;
}

function decodeMap(map) {
  if (!map) return null;
  const values = map.data ? decodeArray(map.data, map.dtype) : null;
  const { data: _data, ...rest } = map;
  return { ...rest, values };
}

function decoded(body) {
  return {
    ...body,
    outputs: body.outputs.map(decodeMap),
    combined: decodeMap(body.combined),
    padded: body.padded_input ? { ...body.padded_input, values: decodeArray(body.padded_input.data, body.padded_input.dtype) } : null,
  };
}

function include({ padded = true, png = false } = {}) {
  return ["data", png && "png", padded && "padded"].filter(Boolean).join(",");
}

export const kernelApi = {
  /** GET /api/kernels/presets -> [{name, kernel, description}]. */
  async presets() {
    return (await request("/api/kernels/presets")).presets;
  },

  /** GET /api/kernels/limits: every limit the server checks ({max_kernel, max_padding, max_stride, max_pool, max_pool_padding, ...}). */
  limits: () => request("/api/kernels/limits"),

  /** POST /api/convolve. `spec`: {kernels, mode, padding, padding_mode, stride, color, combine}. */
  async convolve(source, spec, { padded = true, png = false, signal } = {}) {
    const body = await request(`/api/convolve?include=${include({ padded, png })}`, { form: form(source, spec), signal });
    return decoded(body);
  },

  /** POST /api/pool. `spec`: {op, size, stride, padding, color, rounding, source}. */
  async pool(source, spec, { padded = true, png = false, signal } = {}) {
    const body = await request(`/api/pool?include=${include({ padded, png })}`, { form: form(source, spec), signal });
    return decoded(body);
  },
};
