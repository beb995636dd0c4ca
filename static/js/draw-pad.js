/**
 * A drawing pad: white ink on black (like MNIST), drawn with a mouse, a finger or a pen (pointer
 * events), with a brush size, clear and undo, reduced on demand to a grid of ink-high pixels.
 *
 *   const pad = new DrawPad(canvas, { onChange: ({ reason, time }) => ... });
 *   pad.brush = 24;  pad.undo();  pad.clear();
 *   pad.isEmpty;  pad.toPixels(28)   // 28 rows of 28 numbers in [0, 1], 1 = full ink
 *   pad.drawing                      // a stroke is in progress (the pointer is down)
 *
 * `onChange` fires for every change: reason "draw" while a stroke grows (time = the pointer event's
 * timeStamp, on the performance.now() clock), "end" when it ends, "undo" and "clear".
 */

import { SIZES } from "./config.js";

const INK = "#ffffff";
const PAPER = "#000000";

export class DrawPad {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{brush?: number, onChange?: (change: {reason: string, time: number}) => void}} [options]
   */
  constructor(canvas, { brush = SIZES.brush.initial, onChange = () => {} } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { willReadFrequently: true });
    this.brush = brush;
    this.onChange = onChange;
    /** @type {{size: number, points: number[][]}[]} */
    this.strokes = [];
    this.active = null; // the stroke being drawn and its pointer id
    this.redraw();
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("pointercancel", (e) => this.up(e));
    canvas.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") {
        e.preventDefault();
        this.undo();
      }
    });
  }

  get isEmpty() {
    return this.strokes.length === 0;
  }

  /** Whether a stroke is in progress: its "end" change is still to come. */
  get drawing() {
    return this.active !== null;
  }

  /** Remove every stroke. */
  clear() {
    if (this.isEmpty) return;
    this.strokes = [];
    this.active = null;
    this.redraw();
    this.onChange({ reason: "clear", time: performance.now() });
  }

  /** Remove the last stroke. */
  undo() {
    if (this.isEmpty) return;
    this.strokes.pop();
    this.active = null;
    this.redraw();
    this.onChange({ reason: "undo", time: performance.now() });
  }

  /**
   * The drawing reduced to grid x grid pixels (the mean ink of each block), ink high.
   * @returns {number[][]}
   */
  toPixels(grid = SIZES.padGrid) {
    const { width, height } = this.canvas;
    const data = this.ctx.getImageData(0, 0, width, height).data;
    const sums = new Float64Array(grid * grid);
    const counts = new Uint32Array(grid * grid);
    for (let y = 0; y < height; y++) {
      const row = Math.min(grid - 1, Math.floor((y * grid) / height)) * grid;
      for (let x = 0; x < width; x++) {
        const cell = row + Math.min(grid - 1, Math.floor((x * grid) / width));
        sums[cell] += data[(y * width + x) * 4]; // red channel: 0 paper .. 255 ink
        counts[cell] += 1;
      }
    }
    const rows = [];
    for (let r = 0; r < grid; r++) {
      const row = new Array(grid);
      for (let c = 0; c < grid; c++) {
        const i = r * grid + c;
        // 4 decimals: finer than one grey level of one pad pixel, and a short JSON body.
        row[c] = Math.round(Math.min(1, sums[i] / (counts[i] * 255)) * 1e4) / 1e4;
      }
      rows.push(row);
    }
    return rows;
  }

  point(event) {
    const rect = this.canvas.getBoundingClientRect();
    return [
      ((event.clientX - rect.left) * this.canvas.width) / rect.width,
      ((event.clientY - rect.top) * this.canvas.height) / rect.height,
    ];
  }

  down(event) {
    if (event.pointerType === "mouse" && event.button !== 0) return;
    if (this.active) return; // a second finger does not start another stroke
    event.preventDefault();
    this.canvas.setPointerCapture(event.pointerId);
    const stroke = { size: this.brush, points: [this.point(event)] };
    this.strokes.push(stroke);
    this.active = { stroke, pointerId: event.pointerId };
    this.drawDot(stroke.points[0], stroke.size);
    this.onChange({ reason: "draw", time: event.timeStamp });
  }

  move(event) {
    if (!this.active || event.pointerId !== this.active.pointerId) return;
    const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
    const { stroke } = this.active;
    for (const e of events.length ? events : [event]) {
      const p = this.point(e);
      this.drawSegment(stroke.points[stroke.points.length - 1], p, stroke.size);
      stroke.points.push(p);
    }
    this.onChange({ reason: "draw", time: event.timeStamp });
  }

  up(event) {
    if (!this.active || event.pointerId !== this.active.pointerId) return;
    this.active = null;
    this.onChange({ reason: "end", time: event.timeStamp });
  }

  drawDot([x, y], size) {
    this.ctx.fillStyle = INK;
    this.ctx.beginPath();
    this.ctx.arc(x, y, size / 2, 0, 2 * Math.PI);
    this.ctx.fill();
  }

  drawSegment([x0, y0], [x1, y1], size) {
    const { ctx } = this;
    ctx.strokeStyle = INK;
    ctx.lineWidth = size;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
  }

  redraw() {
    const { ctx, canvas } = this;
    ctx.fillStyle = PAPER;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    for (const { size, points } of this.strokes) {
      this.drawDot(points[0], size);
      for (let i = 1; i < points.length; i++) this.drawSegment(points[i - 1], points[i], size);
    }
  }
}
