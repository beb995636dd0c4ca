/**
 * Where images come from: a file picker, drag-and-drop anywhere on the page, and the clipboard.
 *
 *   watchImageInputs({ fileInput, overlay, onFile: (file, how) => ..., onError: (message) => ... });
 *   const { file, problem } = await readImageFile(picked, 5 * 1024 * 1024);
 *
 * `how` is "upload", "drop" or "paste". `overlay` is shown while files are dragged over the page.
 * The messages (`problem`, `onError`) are in the page's language.
 */

import { t } from "./i18n.js";

/** File signatures of the formats the server reads. */
const SIGNATURES = [
  ["PNG", (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47],
  ["JPEG", (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ["GIF", (b) => b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38],
  ["WebP", (b) => b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50],
  ["BMP", (b) => b[0] === 0x42 && b[1] === 0x4d],
];

function megabytes(bytes) {
  return `${(bytes / 1048576).toFixed(1)} MB`; // the unit stays as it is in every language
}

/**
 * Read a picked, dropped or pasted file into memory, making the server's first checks before
 * uploading anything: empty, too large, or not a PNG, JPEG, GIF, WebP or BMP (by its first bytes,
 * not its name). Resolves to `{file}` (an in-memory copy, so the upload does not read the disk
 * again) or `{problem}` (a message in words).
 */
export async function readImageFile(file, maxBytes) {
  const name = file.name ? `“${file.name}”` : t("That file");
  if (file.size === 0) return { problem: t("{name} is empty.", { name }) };
  if (maxBytes && file.size > maxBytes) {
    return { problem: t("{name} is {size}: too large, the limit is {limit}.", { name, size: megabytes(file.size), limit: megabytes(maxBytes) }) };
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!SIGNATURES.some(([, test]) => test(bytes))) {
    return { problem: t("{name} is not an image the network can read: send a PNG, JPEG, GIF, WebP or BMP file.", { name }) };
  }
  return { file: new File([bytes], file.name || "image", { type: file.type || "application/octet-stream" }) };
}

function hasFiles(event) {
  return event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files");
}

/** Wire the picker, page-wide drag-and-drop and paste. */
export function watchImageInputs({ fileInput, overlay, onFile, onError, root = document }) {
  fileInput.addEventListener("change", () => {
    const file = fileInput.files && fileInput.files[0];
    if (file) onFile(file, "upload");
    fileInput.value = ""; // choosing the same file again fires change again
  });

  let depth = 0; // dragenter/dragleave fire for every child element crossed
  const showOverlay = (on) => {
    if (overlay) overlay.hidden = !on;
  };
  root.addEventListener("dragenter", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth += 1;
    showOverlay(true);
  });
  root.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  });
  root.addEventListener("dragleave", (e) => {
    if (!hasFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) showOverlay(false);
  });
  root.addEventListener("drop", (e) => {
    if (!e.dataTransfer) return;
    e.preventDefault();
    depth = 0;
    showOverlay(false);
    const file = e.dataTransfer.files && e.dataTransfer.files[0];
    if (file) onFile(file, "drop");
    else onError(t("Nothing to read there: drop an image file (dragging an image from another web page gives only its address)."));
  });

  root.addEventListener("paste", (e) => {
    const target = e.target;
    if (target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA)$/.test(target.tagName) && target.type !== "file")) return;
    const items = Array.from((e.clipboardData && e.clipboardData.items) || []);
    const item = items.find((i) => i.kind === "file" && i.type.startsWith("image/")) || items.find((i) => i.kind === "file");
    const file = item && item.getAsFile();
    if (file) {
      e.preventDefault();
      onFile(file, "paste");
    } else if (items.length) {
      onError(t("The clipboard holds no image: copy an image (or a screenshot) and paste again."));
    }
  });
}
