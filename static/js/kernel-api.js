/**
 * The kernel lab's endpoints from the browser, decoded.
 *
 *   const result = await kernelApi.convolve(source, spec, { padded: true });
 *   result.outputs[0].values     // Float32Array (C, H', W'), C order
 *   result.padded.values         // the padded input the kernels saw (with { padded: true })
 *   const presets = await kernelApi.presets();  // [{name (the id), title and description (in the page's language), kernel}]
 *   const limits = await kernelApi.limits();     // what the server refuses, to check before asking
 *
 * `source` is {sample} (a test-digit id) or {file} (a File/Blob). Errors are api.js's ApiError, whose
 * message is the server's `detail` (it names the field at fault).
 */

import { decodeArray, request } from "./api.js";
import { t } from "./i18n.js";

/**
 * The presets' names and descriptions in the page's language, by the id the API uses (its `name`); the
 * proper names (Sobel, Prewitt, Scharr, Laplacian) stay. A preset not listed here shows the server's words.
 */
const PRESET_WORDS = {
  identity: () => [t("identity"), t("Copies the image unchanged: only the centre pixel counts.")],
  "1x1": () => ["1x1", t("One weight per pixel: scales each value. On one channel it changes nothing; in a network a 1x1 convolution mixes the channels at each pixel.")],
  "box blur 3x3": () => [t("box blur 3x3"), t("Each pixel becomes the plain average of its 3x3 neighbourhood: a soft blur.")],
  "box blur 5x5": () => [t("box blur 5x5"), t("The average of the 5x5 neighbourhood: a stronger blur.")],
  "gaussian 3x3": () => [t("gaussian 3x3"), t("A weighted average that counts near pixels more than far ones: a smooth blur without the boxy look.")],
  "gaussian 5x5": () => [t("gaussian 5x5"), t("A wider Gaussian-like blur (binomial weights 1 4 6 4 1, summing to 1).")],
  sharpen: () => [t("sharpen"), t("Adds to each pixel how much it differs from its four neighbours: edges get crisper.")],
  "sobel x": () => [t("sobel x"), t("Horizontal change: positive where the image gets brighter to the right, so it finds vertical edges. Smooths a little along the edge (weights 1 2 1).")],
  "sobel y": () => [t("sobel y"), t("Vertical change: positive where the image gets brighter downwards, so it finds horizontal edges. Combine with Sobel x (magnitude) for the outline.")],
  "scharr x": () => [t("scharr x"), t("Like Sobel x with weights 3 10 3: a more rotation-even estimate of horizontal change.")],
  "scharr y": () => [t("scharr y"), t("Like Sobel y with weights 3 10 3: vertical change, finds horizontal edges.")],
  "prewitt x": () => [t("prewitt x"), t("Horizontal change with equal weights on the three rows: finds vertical edges.")],
  "prewitt y": () => [t("prewitt y"), t("Vertical change with equal weights on the three columns: finds horizontal edges.")],
  "laplacian 4-neighbour": () => [t("laplacian 4-neighbour"), t("The four neighbours minus four times the centre: zero on flat areas and smooth ramps, strong on thin lines and corners in any direction.")],
  "laplacian 8-neighbour": () => [t("laplacian 8-neighbour"), t("All eight neighbours minus eight times the centre: like the 4-neighbour Laplacian, also counting the diagonals.")],
  emboss: () => [t("emboss"), t("Light from the top left: edges facing it get bright, the others dark, like a relief.")],
  outline: () => [t("outline"), t("The centre minus its eight neighbours: flat areas go to zero, every edge lights up.")],
  "vertical edge": () => [t("vertical edge"), t("The lecture's vertical edge template [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]: dark on the left and bright on the right gives a large positive value, the opposite a large negative one.")],
  "horizontal edge": () => [t("horizontal edge"), t("The lecture's horizontal edge template, the transpose of the vertical one: dark above and bright below gives a large positive value, the opposite a large negative one.")],
};

/** A preset of the API with its `title` and `description` in the page's language. */
function worded(preset) {
  const words = PRESET_WORDS[preset.name];
  if (!words) return { ...preset, title: preset.name };
  const [title, description] = words();
  return { ...preset, title, description };
}

function form(source, spec) {
  const data = new FormData();
  if (source.file) data.append("file", source.file, source.file.name || "image.png");
  else if (source.sample !== undefined && source.sample !== null) data.append("sample", String(source.sample));
  else throw new Error(t("kernel lab: the image source has neither a file nor a sample"));
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
  /** GET /api/kernels/presets -> [{name, title, kernel, description}] (title and description in the page's language). */
  async presets() {
    return (await request("/api/kernels/presets")).presets.map(worded);
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
