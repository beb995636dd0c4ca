/**
 * Where the kernel lab's image comes from: the bundled photo, a test digit, the explorer's current
 * digit, or a file (picked, dropped anywhere, or pasted). Every source becomes
 *
 *   {kind, caption, sample?, file?, width, height, preview}
 *
 * with `sample` (a test-digit id) or `file` (a File) for the API, its size in pixels (for the live
 * output-size formula) and a `preview` URL. Images larger than KERNEL_LAB.maxSide on a side are scaled
 * down in the browser first (the answer carries every value of every map, so megapixels would be slow).
 */

import { api } from "./api.js";
import { KERNEL_LAB } from "./config.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { readImageFile } from "./input-sources.js";
import { recallDigit } from "./kernel-handoff.js";
import { rooted } from "./root.js";

export const PHOTO_URL = "/static/img/edge-photo.png";

let previewUrl = null;

function objectUrl(blob) {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(blob);
  return previewUrl;
}

function canvasBlob(canvas) {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error(t("the browser could not make a PNG")))), "image/png"));
}

/** A test digit. */
export function sampleSource(sample, caption = null) {
  return {
    kind: "sample",
    sample: sample.id,
    caption: caption || (sample.label !== undefined ? t("Test digit #{id}, a {label}", { id: sample.id, label: sample.label }) : t("Test digit #{id}", { id: sample.id })),
    width: 28,
    height: 28,
    preview: api.sampleUrl(sample.id),
    crisp: true,
  };
}

/** A File -> a source, scaled down when larger than KERNEL_LAB.maxSide; {problem} when it cannot be read. */
export async function fileSource(picked, { maxBytes, kind = "file", caption = null }) {
  const { file, problem } = await readImageFile(picked, maxBytes);
  if (problem) return { problem };
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return { problem: file.name ? t("“{name}” could not be decoded: is the file complete?", { name: file.name }) : t("That image could not be decoded: is the file complete?") };
  }
  const { width, height } = bitmap;
  const scale = Math.min(1, KERNEL_LAB.maxSide / Math.max(width, height));
  const size = { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
  let sent = file;
  let scaled = null;
  if (scale < 1) {
    const canvas = el("canvas");
    canvas.width = size.width;
    canvas.height = size.height;
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, size.width, size.height);
    const name = `${(file.name || "image").replace(/\.\w+$/, "")}-${size.width}x${size.height}.png`;
    sent = new File([await canvasBlob(canvas)], name, { type: "image/png" });
    scaled = { width, height, w: size.width, h: size.height };
  }
  bitmap.close();
  const named = caption || (file.name ? t("Your image: {name}", { name: file.name }) : t("Your image"));
  return {
    kind,
    file: sent,
    caption: scaled ? t("{caption} (scaled down from {width}×{height} to {w}×{h} in the browser)", { caption: named, ...scaled }) : named,
    ...size,
    preview: objectUrl(sent),
  };
}

/** The bundled photo. */
export async function photoSource() {
  const response = await fetch(rooted(PHOTO_URL));
  if (!response.ok) return { problem: t("The bundled photo could not be loaded ({status}).", { status: response.status }) };
  const blob = await response.blob();
  const file = new File([blob], "edge-photo.png", { type: "image/png" });
  return fileSource(file, { kind: "photo", caption: t("The bundled photo (a synthetic scene with strong edges, CC0)") });
}

/** The explorer's current digit, or {problem} when the explorer has shown none yet. */
export async function explorerSource() {
  const digit = recallDigit();
  if (!digit) return { problem: t("The explorer has not shown a digit in this browser yet: open the explorer, pick or draw one, and come back.") };
  if (digit.sample !== null) return { ...sampleSource({ id: digit.sample }, t("The explorer's digit: {caption}", { caption: digit.caption })), kind: "explorer" };
  const canvas = el("canvas");
  canvas.width = 28;
  canvas.height = 28;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(28, 28);
  digit.pixels.forEach((v, i) => image.data.set([v, v, v, 255], i * 4));
  ctx.putImageData(image, 0, 0);
  const blob = await canvasBlob(canvas);
  return {
    kind: "explorer",
    file: new File([blob], "explorer-digit.png", { type: "image/png" }),
    caption: t("The explorer's digit: {caption} (28×28, as the network saw it)", { caption: digit.caption }),
    width: 28,
    height: 28,
    preview: objectUrl(blob),
    crisp: true,
  };
}
