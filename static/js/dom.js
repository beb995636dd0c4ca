/**
 * Making elements: every module builds its HTML and SVG nodes through these two.
 *
 *   el("p", "hint", "Pick a cell.")                     // <p class="hint">Pick a cell.</p>
 *   el("tr")                                            // a bare element
 *   svg("path", { d: "M0 0H10", class: "axis" })        // an SVG element with its attributes
 *   svg("text", { x: 4, y: 12 }, "0.5")                 // ... and its text
 *
 * Text is always set as text (never parsed as HTML), which is also what the page's CSP expects.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * An HTML element with an optional class list (space-separated) and text.
 * @param {string} tag
 * @param {string} [className]
 * @param {unknown} [text]
 * @returns {HTMLElement}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * An SVG element with attributes (values turned into strings) and optional text.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {unknown} [text]
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}
