/**
 * Reading values: any element registered with `attachProbe` reports the value under the pointer in one
 * shared readout line (and a small tooltip by the pointer). A mouse reads by hovering; a finger or a pen
 * by tapping (the reading stays until the next tap elsewhere); the keyboard (the inspector's arrow keys)
 * through showReadout, until hideReadout (its focus left). The readout is shown only while it has
 * something to say: it is hidden when nothing is being read.
 *
 *   installReadout(document.getElementById("readout"), document.getElementById("tooltip"));
 *   attachProbe(canvas, ({ fx, fy }) => ({ label: "conv1 · channel 3 · (y 4, x 9)", value: 0.25,
 *                                          data: { layer: "conv1", channel: 3, y: 4, x: 9 } }));
 *   showReadout(reading);   // keyboard navigation (the inspector's arrow keys)
 *   hideReadout();          // ... and when its focus leaves
 *
 * A probe gets the pointer's position as fractions (0 <= fx, fy < 1) of the element's box and returns
 * {label, value, data} or null (nothing there). While a modal dialog is open (the inspector), the readout
 * and the tooltip move into it, so that they show above its backdrop.
 */

import { el } from "./dom.js";
import { formatValue } from "./format.js";

const HIDE_AFTER_MS = 700; // the pointer left the probes: the reading fades after this long

const probes = new WeakMap();
let readoutEl = null;
let tooltipEl = null;
let home = null; // where the readout lives when no dialog is open
let hideTimer = 0;
let pinned = false; // a tap's or the keyboard's reading: a mouse passing over nothing leaves it

/** Register (or replace) the probe of an element. */
export function attachProbe(element, probe) {
  probes.set(element, probe);
  element.dataset.probe = "";
}

/** The readout and tooltip go where they can be seen: into an open modal dialog, else back home. */
function place() {
  const dialog = document.querySelector("dialog[open]");
  const host = dialog && dialog.matches(":modal") ? dialog : home;
  for (const node of [readoutEl, tooltipEl]) if (node && host && node.parentElement !== host) host.append(node);
}

/**
 * Show one reading in the readout line; `at` = {x, y} client coordinates for the tooltip, if any. A
 * reading shown this way (not by a hovering mouse) stays until hideReadout() or another reading.
 */
export function showReadout(reading, at = null, { hover = false } = {}) {
  if (!readoutEl || !reading) return;
  clearTimeout(hideTimer);
  pinned = !hover;
  place();
  const value = formatValue(reading.value);
  readoutEl.textContent = "";
  const label = el("span", "readout-label", reading.label);
  const number = el("strong", "readout-value", value);
  readoutEl.append(label, " = ", number);
  readoutEl.hidden = false;
  readoutEl.dataset.value = String(reading.value);
  for (const key of ["layer", "channel", "y", "x", "unit", "tensor"]) {
    const v = reading.data ? reading.data[key] : undefined;
    if (v === undefined || v === null) delete readoutEl.dataset[key];
    else readoutEl.dataset[key] = String(v);
  }
  if (tooltipEl && at) {
    tooltipEl.textContent = `${reading.label}\n${value}`;
    tooltipEl.hidden = false;
    const pad = 14;
    const { innerWidth: vw, innerHeight: vh } = window;
    const box = tooltipEl.getBoundingClientRect();
    const left = at.x + pad + box.width > vw ? at.x - pad - box.width : at.x + pad;
    const top = at.y + pad + box.height > vh ? at.y - pad - box.height : at.y + pad;
    tooltipEl.style.transform = `translate(${Math.max(0, left)}px, ${Math.max(0, top)}px)`;
  } else if (tooltipEl) {
    tooltipEl.hidden = true;
  }
}

function hideTooltip() {
  if (tooltipEl) tooltipEl.hidden = true;
}

/** Nothing is being read: hide the readout and the tooltip (after `delay` ms, unless a new reading comes). */
export function hideReadout(delay = 0) {
  clearTimeout(hideTimer);
  pinned = false;
  const hide = () => {
    hideTooltip();
    if (readoutEl) readoutEl.hidden = true;
  };
  if (delay > 0) hideTimer = setTimeout(hide, delay);
  else hide();
}

function probeAt(element, clientX, clientY) {
  const probe = probes.get(element);
  if (!probe) return null;
  const rect = element.getBoundingClientRect();
  if (rect.width === 0 || rect.height === 0) return null;
  const fx = (clientX - rect.left) / rect.width;
  const fy = (clientY - rect.top) / rect.height;
  if (fx < 0 || fy < 0 || fx >= 1 || fy >= 1) return null;
  return probe({ fx, fy });
}

/** The reading under a pointer event, or null. */
function readingAt(event) {
  const element = event.target instanceof Element ? event.target.closest("[data-probe]") : null;
  return element ? probeAt(element, event.clientX, event.clientY) : null;
}

/** Listen for pointers over probed elements anywhere in `root` (once per page). */
export function installReadout(readout, tooltip, root = document) {
  readoutEl = readout;
  tooltipEl = tooltip;
  home = readout.parentElement;
  readout.hidden = true; // nothing to say yet
  root.addEventListener("pointermove", (event) => {
    if (event.pointerType !== "mouse") return; // a finger reads by tapping, not by sliding (that scrolls)
    const reading = readingAt(event);
    if (reading) showReadout(reading, { x: event.clientX, y: event.clientY }, { hover: true });
    else if (!pinned) hideReadout(HIDE_AFTER_MS);
    else hideTooltip();
  });
  // A tap (finger or pen) reads the value under it, and leaves it on screen; a tap on nothing takes it away.
  root.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse") return;
    const reading = readingAt(event);
    if (reading) showReadout(reading, { x: event.clientX, y: event.clientY });
    else hideReadout();
  });
  document.documentElement.addEventListener("pointerleave", () => {
    if (!pinned) hideReadout(HIDE_AFTER_MS);
  });
  root.addEventListener("scroll", hideTooltip, { passive: true, capture: true }); // the tooltip no longer points at it
  // A dialog closing takes the readout's subject with it.
  root.addEventListener("close", () => hideReadout(), { capture: true });
}

/** Cell (row, col) of a rows x cols grid under fractions (fx, fy). */
export function gridCell(fx, fy, rows, cols) {
  return { y: Math.min(rows - 1, Math.floor(fy * rows)), x: Math.min(cols - 1, Math.floor(fx * cols)) };
}
