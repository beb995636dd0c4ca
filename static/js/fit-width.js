/**
 * Charts drawn at the width they are shown at, so that their text is the size the stylesheet says (an SVG
 * scaled down to a phone's width would shrink 11 px labels to 5 px).
 *
 *   const holder = fitWidth((width) => svg("svg", { viewBox: `0 0 ${width} 120` }), { className: "chart" });
 *   host.append(holder);    // drawn once it has a width, and again whenever its width changes
 *
 * `draw(width)` returns the node to show for a width in CSS px (one SVG user unit = one CSS px).
 */

import { el } from "./dom.js";

/** A <div> that holds `draw(width)`, redrawn when its own width changes by a whole pixel. */
export function fitWidth(draw, { className = "" } = {}) {
  const holder = el("div", `fit-width ${className}`.trim());
  let drawn = 0;
  const redraw = () => {
    const width = Math.floor(holder.clientWidth);
    if (width === 0 || width === drawn) return; // not laid out yet (or no change)
    drawn = width;
    holder.replaceChildren(draw(width));
    holder.dataset.width = String(width);
  };
  new ResizeObserver(redraw).observe(holder);
  return holder;
}
