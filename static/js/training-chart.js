/**
 * The training page's charts: SVG drawn at its on-screen width in CSS px (so tick text keeps its size on a
 * phone instead of shrinking with a viewBox), over an x axis with one evenly spaced notch per checkpoint.
 *
 *   fitWidth(host, (width) => { ... });                  // draw now, and again whenever the width changes
 *   const frame = chartFrame({ width, height, count, label });
 *   frame.yAxis(niceTicks(0, 2.3), (v) => formatTick(v), "training loss");
 *   frame.stepAxis(steps);                              // step numbers under the notches that have room
 *   frame.svg.append(svg("path", { d: frame.line(points) }));
 *   const cursor = frame.cursor();  cursor.move(i);      // the vertical line at checkpoint i
 *   frame.indexAt(clientX)                              // the checkpoint nearest a pointer
 */

import { TRAINING_PAGE } from "./config.js";
import { svg } from "./dom.js";
import { formatNumber, t } from "./i18n.js";

const round = (v) => Math.round(v * 10) / 10;

/** Calls `draw(width)` with the host's inner width (CSS px) now and whenever it changes. */
export function fitWidth(host, draw) {
  let drawn = -1;
  const redraw = () => {
    const width = Math.floor(host.clientWidth);
    if (width > 0 && width !== drawn) {
      drawn = width;
      draw(width);
    }
  };
  new ResizeObserver(redraw).observe(host);
  redraw();
  return { redraw: () => ((drawn = -1), redraw()) };
}

/** About `count` round tick values (1, 2 or 5 times a power of ten apart), the first at or below `lo`, the last at or above `hi`. */
export function niceTicks(lo, hi, count = 4) {
  if (!(hi > lo)) return [lo, lo + 1];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  // k * step, rounded to the step's decimals (no 0.30000000000000004)
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return Array.from({ length: last - first + 1 }, (_, k) => Number(((first + k) * step).toFixed(decimals)));
}

/** Width in CSS px of `text` in the tick font (a monospace face, about 0.6 em a character). */
function textWidth(text) {
  return String(text).length * TRAINING_PAGE.tickPx * 0.62;
}

/**
 * A chart's SVG and coordinates: `x(i)` for checkpoint i of `count`, `y` set by `yAxis` (or `setY`).
 * @param {{width: number, height: number, count: number, label: string, margin?: object}} options
 */
export function chartFrame({ width, height, count, label, margin = TRAINING_PAGE.margin }) {
  const plot = { left: margin.left, right: width - margin.right, top: margin.top, bottom: height - margin.bottom };
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "tr-chart", role: "img", "aria-label": label });
  const x = (i) => round(count > 1 ? plot.left + (i / (count - 1)) * (plot.right - plot.left) : (plot.left + plot.right) / 2);
  const frame = {
    svg: root,
    plot,
    x,
    y: (v) => v,
    /** Linear y from `lo` (bottom) to `hi` (top), gridlines at `ticks` labelled by `format`, and the axis title. */
    yAxis(ticks, format, title, lo = ticks[0], hi = ticks[ticks.length - 1]) {
      frame.setY((v) => round(plot.bottom - ((v - lo) / (hi - lo || 1)) * (plot.bottom - plot.top)));
      for (const t of ticks) {
        const ty = frame.y(t);
        root.append(
          svg("line", { x1: plot.left, x2: plot.right, y1: ty, y2: ty, class: "tr-grid" }),
          svg("text", { x: plot.left - 6, y: ty + 4, class: "tr-tick", "text-anchor": "end" }, format(t)),
        );
      }
      if (title) {
        const mid = round((plot.top + plot.bottom) / 2);
        root.append(svg("text", { x: 13, y: mid, class: "tr-axis-label", "text-anchor": "middle", transform: `rotate(-90 13 ${mid})` }, title));
      }
    },
    setY(fn) {
      frame.y = fn;
    },
    /** A notch per checkpoint, the step number under those that have room (the first and last always), a title. */
    stepAxis(steps, title = t("optimizer step (checkpoints evenly spaced)")) {
      root.append(svg("line", { x1: plot.left, x2: plot.right, y1: plot.bottom, y2: plot.bottom, class: "tr-axis" }));
      let notches = "";
      for (let i = 0; i < count; i++) notches += `M${x(i)} ${plot.bottom}v4`;
      root.append(svg("path", { d: notches, class: "tr-axis" }));
      for (const i of labelled(steps, x)) {
        root.append(svg("text", { x: x(i), y: plot.bottom + 17, class: "tr-tick", "text-anchor": "middle" }, formatNumber(steps[i])));
      }
      root.append(svg("text", { x: round((plot.left + plot.right) / 2), y: plot.bottom + 34, class: "tr-axis-label", "text-anchor": "middle" }, title));
    },
    /** Path data through `points` ([i, value]; null values break the line). */
    line(points) {
      let d = "";
      let pen = false;
      for (const [i, v] of points) {
        if (v === null || v === undefined || !Number.isFinite(v)) {
          pen = false;
          continue;
        }
        d += `${pen ? "L" : "M"}${x(i)} ${frame.y(v)}`;
        pen = true;
      }
      return d;
    },
    /** A closed band between `lows` and `highs` ([i, value] pairs in checkpoint order). */
    band(lows, highs) {
      if (!lows.length) return "";
      const top = highs.map(([i, v], k) => `${k ? "L" : "M"}${x(i)} ${frame.y(v)}`).join("");
      const bottom = [...lows].reverse().map(([i, v]) => `L${x(i)} ${frame.y(v)}`).join("");
      return `${top}${bottom}Z`;
    },
    /** The vertical cursor line; `move(i)` puts it at checkpoint i, `move(null)` hides it. */
    cursor(className = "tr-cursor") {
      const line = svg("line", { x1: 0, x2: 0, y1: plot.top, y2: plot.bottom, class: className, visibility: "hidden" });
      root.append(line);
      return {
        element: line,
        move(i) {
          if (i === null || i === undefined || i < 0) {
            line.setAttribute("visibility", "hidden");
            return;
          }
          line.setAttribute("x1", String(x(i)));
          line.setAttribute("x2", String(x(i)));
          line.setAttribute("visibility", "visible");
        },
      };
    },
    /** The checkpoint nearest the pointer's clientX. */
    indexAt(clientX) {
      const box = root.getBoundingClientRect();
      const px = ((clientX - box.left) / box.width) * width;
      const f = (px - plot.left) / (plot.right - plot.left || 1);
      return Math.max(0, Math.min(count - 1, Math.round(f * (count - 1))));
    },
  };
  return frame;
}

/** Indices whose step labels fit side by side: greedily from the left, the last one always (dropping its neighbour). */
function labelled(steps, x) {
  const gap = 8;
  const chosen = [];
  const right = (i) => x(i) + textWidth(formatNumber(steps[i])) / 2;
  const left = (i) => x(i) - textWidth(formatNumber(steps[i])) / 2;
  for (let i = 0; i < steps.length; i++) {
    if (!chosen.length || left(i) >= right(chosen[chosen.length - 1]) + gap) chosen.push(i);
  }
  const last = steps.length - 1;
  if (last > 0 && chosen[chosen.length - 1] !== last) {
    while (chosen.length && right(chosen[chosen.length - 1]) + gap > left(last)) chosen.pop();
    chosen.push(last);
  }
  return chosen;
}

/** Pointer (mouse, pen, finger) down and drag on `element`: `pick(clientX)` for every position. */
export function dragToPick(element, pick) {
  let active = null;
  element.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse" && event.button !== 0) return;
    active = event.pointerId;
    element.setPointerCapture(event.pointerId);
    pick(event.clientX);
  });
  element.addEventListener("pointermove", (event) => {
    if (event.pointerId === active) pick(event.clientX);
  });
  const end = (event) => {
    if (event.pointerId === active) active = null;
  };
  element.addEventListener("pointerup", end);
  element.addEventListener("pointercancel", end);
}
