/**
 * Hover readout: any element registered with `attachProbe` reports the value under the pointer in
 * one shared readout line (and a small tooltip by the pointer).
 *
 *   installReadout(document.getElementById("readout"), document.getElementById("tooltip"));
 *   attachProbe(canvas, ({ fx, fy }) => ({ label: "conv1 · channel 3 · (y 4, x 9)", value: 0.25,
 *                                          data: { layer: "conv1", channel: 3, y: 4, x: 9 } }));
 *
 * A probe gets the pointer's position as fractions (0 <= fx, fy < 1) of the element's box and
 * returns {label, value, data} or null (nothing there). `showReadout` fills the readout directly
 * (keyboard navigation in the inspector uses it).
 */

import { el } from "./dom.js";
import { formatValue } from "./format.js";

const probes = new WeakMap();
let readoutEl = null;
let tooltipEl = null;

/** Register (or replace) the probe of an element. */
export function attachProbe(element, probe) {
  probes.set(element, probe);
  element.dataset.probe = "";
}

/** Show one reading in the readout line; `at` = {x, y} client coordinates for the tooltip, if any. */
export function showReadout(reading, at = null) {
  if (!readoutEl || !reading) return;
  const value = formatValue(reading.value);
  readoutEl.textContent = "";
  const label = el("span", "readout-label", reading.label);
  const number = el("strong", "readout-value", value);
  readoutEl.append(label, " = ", number);
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
  }
}

function hideTooltip() {
  if (tooltipEl) tooltipEl.hidden = true;
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

/** Listen for pointers over probed elements anywhere in `root` (once per page). */
export function installReadout(readout, tooltip, root = document) {
  readoutEl = readout;
  tooltipEl = tooltip;
  root.addEventListener("pointermove", (event) => {
    const element = event.target instanceof Element ? event.target.closest("[data-probe]") : null;
    const reading = element ? probeAt(element, event.clientX, event.clientY) : null;
    if (reading) showReadout(reading, { x: event.clientX, y: event.clientY });
    else hideTooltip();
  });
  document.documentElement.addEventListener("pointerleave", hideTooltip);
  root.addEventListener("scroll", hideTooltip, { passive: true, capture: true });
}

/** Cell (row, col) of a rows x cols grid under fractions (fx, fy). */
export function gridCell(fx, fy, rows, cols) {
  return { y: Math.min(rows - 1, Math.floor(fy * rows)), x: Math.min(cols - 1, Math.floor(fx * cols)) };
}
