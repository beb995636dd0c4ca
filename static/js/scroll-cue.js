/**
 * A box that scrolls sideways (a wide table on a phone) says so: its hidden side fades out, a line under it
 * reads "Scroll sideways for more", and it can be scrolled from the keyboard (it takes focus).
 *
 *   scrollCue(document.querySelector(".table-scroll"), "The architecture table");
 *   scrollCues(document, ".table-scroll, .bn-table-wrap");   // every such box, each named by its table
 *
 * The box is wrapped in a <div class="scroll-frame"> whose data-more is "left", "right", "both" or absent
 * (it follows scrolling, resizing and new content), and the note follows the frame.
 */

import { el } from "./dom.js";
import { t } from "./i18n.js";

/** Wire one scroll box; `label` names it for screen readers. Returns the frame. */
export function scrollCue(box, label) {
  if (box.parentElement && box.parentElement.classList.contains("scroll-frame")) return box.parentElement;
  const frame = el("div", "scroll-frame");
  box.before(frame);
  frame.append(box);
  const note = el("p", "scroll-note", t("Scroll sideways for more →"));
  note.setAttribute("aria-hidden", "true");
  note.hidden = true;
  frame.after(note);
  box.tabIndex = 0;
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", t("{label} (scrolls sideways)", { label }));

  const update = () => {
    const left = box.scrollLeft > 1;
    const right = box.scrollLeft + box.clientWidth < box.scrollWidth - 1;
    if (left || right) frame.dataset.more = left && right ? "both" : left ? "left" : "right";
    else delete frame.dataset.more;
    note.hidden = !(left || right);
    note.textContent = right ? t("Scroll sideways for more →") : t("← Scroll back");
  };
  box.addEventListener("scroll", update, { passive: true });
  new ResizeObserver(update).observe(box);
  new MutationObserver(update).observe(box, { childList: true, subtree: true });
  update();
  return frame;
}

/** scrollCue for every element matching `selector` under `root`, named by its table's caption or aria-label. */
export function scrollCues(root, selector) {
  for (const box of root.querySelectorAll(selector)) {
    const table = box.querySelector("table");
    const name = box.getAttribute("aria-label") || table?.getAttribute("aria-label") || table?.caption?.textContent || box.closest("section")?.querySelector("h2, h3")?.textContent || t("A wide table");
    scrollCue(box, name.trim());
  }
}
