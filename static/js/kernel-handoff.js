/**
 * What the explorer and the kernel lab pass each other.
 *
 * - The explorer's current digit: after every result the explorer calls `rememberDigit`, which keeps the
 *   28x28 input the network saw (and the test-digit id, when it is one) in localStorage; the lab's
 *   "explorer's digit" source reads it back with `recallDigit`.
 * - A hand-made conv1 filter: the lab links to `/?sample=ID&conv1_override=JSON` (`overrideHref`); the
 *   explorer reads it with `overrideFromUrl` and sends it as the `conv1_override` field of every request.
 *
 * - `showNetworkLink` keeps the lab's link to the explorer (with the override) up to date.
 *
 * Storage may be unavailable (private modes, disabled cookies): then there is simply no digit to recall.
 */

import { KERNEL_LAB } from "./config.js";
import { t } from "./i18n.js";
import { applied } from "./kernel-math.js";
import { rooted } from "./root.js";

const DIGIT_KEY = "convlens.explorer.digit";
export const OVERRIDE_PARAM = "conv1_override";

/** Keep the explorer's digit: `input` is what was sent ({sample} / {file} / {pixels}); `layer` the API's input layer. */
export function rememberDigit(input, layer, caption) {
  if (!layer || layer.shape.length !== 3 || layer.shape[1] !== 28 || layer.shape[2] !== 28) return;
  const pixels = Array.from(layer.values, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  const record = { sample: input.sample ?? null, pixels, caption, time: Date.now() };
  try {
    localStorage.setItem(DIGIT_KEY, JSON.stringify(record));
  } catch {
    /* storage full or disabled: nothing to hand over */
  }
}

/** The explorer's last digit: {sample (id or null), pixels (784 values 0..255), caption}, or null. */
export function recallDigit() {
  let record;
  try {
    record = JSON.parse(localStorage.getItem(DIGIT_KEY) || "null");
  } catch {
    return null;
  }
  if (!record || !Array.isArray(record.pixels) || record.pixels.length !== 784) return null;
  const sample = Number.isInteger(record.sample) ? record.sample : null;
  return { sample, pixels: record.pixels, caption: String(record.caption || t("The explorer's digit")) };
}

/** The explorer's URL that runs `sample` (or the explorer's own choice when null) with conv1 filter `channel` = `kernel`. */
export function overrideHref(kernel, channel, sample) {
  const params = new URLSearchParams();
  if (sample !== null && sample !== undefined) params.set("sample", String(sample));
  params.set(OVERRIDE_PARAM, JSON.stringify({ channel, kernel }));
  return rooted(`/?${params}`);
}

/**
 * The override in the explorer's URL: {override} ({channel, kernel}), {problem} (words) when the parameter
 * is malformed, or {} when there is none. The server checks the values; this only checks the shape.
 */
export function overrideFromUrl(search = window.location.search) {
  const raw = new URLSearchParams(search).get(OVERRIDE_PARAM);
  if (raw === null) return {};
  let value;
  try {
    value = JSON.parse(raw);
  } catch {
    return { problem: t("?{param}= is not valid JSON: expected {shape}.", { param: OVERRIDE_PARAM, shape: '{"channel": c, "kernel": k x k}' }) };
  }
  const square = (k) => Array.isArray(k) && k.length > 0 && k.every((row) => Array.isArray(row) && row.length === k.length);
  if (!value || typeof value !== "object" || !Number.isInteger(value.channel) || !square(value.kernel)) {
    return { problem: t("?{param}= must be {shape}.", { param: OVERRIDE_PARAM, shape: '{"channel": c, "kernel": k x k}' }) };
  }
  return { override: { channel: value.channel, kernel: value.kernel } };
}

/** Drop the override from the address bar (keeping everything else). */
export function clearOverrideFromUrl() {
  const url = new URL(window.location.href);
  url.searchParams.delete(OVERRIDE_PARAM);
  window.history.replaceState(null, "", url);
}

/** Which filter kernel A replaces, on which digit, in words. */
function networkNote(flipped, channel, digit) {
  const params = { channel, digit };
  if (digit !== null) {
    return flipped
      ? t("Kernel A, flipped as convolution applies it, replaces conv1 filter {channel}, on test digit #{digit}.", params)
      : t("Kernel A replaces conv1 filter {channel}, on test digit #{digit}.", params);
  }
  return flipped
    ? t("Kernel A, flipped as convolution applies it, replaces conv1 filter {channel}, on the explorer's first digit (the network reads 28×28 digits, not this image).", params)
    : t("Kernel A replaces conv1 filter {channel}, on the explorer's first digit (the network reads 28×28 digits, not this image).", params);
}

/**
 * The lab's "Try it in the network" link and its note: kernel A (as it slides: flipped for convolution,
 * since the network cross-correlates) in place of conv1 filter `channel`, on test digit `digit` (or the
 * explorer's own when null); disabled, saying why, when the kernel has a problem or is larger than conv1's.
 */
export function showNetworkLink(link, note, { editor, mode, channel, digit }) {
  const tooBig = editor.size > KERNEL_LAB.conv1Size;
  if (editor.problem || tooBig) {
    link.removeAttribute("href");
    link.setAttribute("aria-disabled", "true");
    note.textContent = tooBig ? t("conv1's filters are {k}×{k}: use a kernel of at most that size.", { k: KERNEL_LAB.conv1Size }) : t("Fix kernel A first.");
    return;
  }
  link.href = overrideHref(applied(editor.kernel, mode), channel, digit);
  link.removeAttribute("aria-disabled");
  note.textContent = networkNote(mode === "convolution", channel, digit);
}
