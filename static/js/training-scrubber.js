/**
 * The scrubber: a slider over the checkpoints (one notch each; the filled ones keep the whole network),
 * operated by keyboard (arrow keys, Page Up/Down, Home/End), by mouse, pen or finger (press or drag on the
 * track), with previous/next buttons and a play button that steps through the checkpoints.
 *
 *   const scrub = createScrubber(elements, checkpoints, { onChange: (i) => ... });
 *   scrub.set(i);  scrub.index;  scrub.play();  scrub.pause();
 *
 * The track is drawn with the charts' margins, so on the same width its notches sit under their points.
 */

import { TRAINING_PAGE } from "./config.js";
import { svg } from "./dom.js";
import { formatTick } from "./format.js";
import { formatNumber, t } from "./i18n.js";
import { chartFrame, dragToPick, fitWidth } from "./training-chart.js";

const TRACK_HEIGHT = 34;

/** The short words for checkpoint `c` (the readout beside the buttons). */
export function shortCheckpoint(c) {
  const loss = typeof c.train_loss === "number" ? formatTick(c.train_loss) : "–";
  return t("step {step} · epoch {epoch} · loss {loss} · test accuracy {accuracy}%", {
    step: formatNumber(c.step),
    epoch: c.epoch.toFixed(2),
    loss,
    accuracy: (c.test_accuracy * 100).toFixed(2),
  });
}

/** The words for checkpoint `c` (the slider's aria-valuetext). */
export function describeCheckpoint(c, count, i) {
  const words = {
    i: i + 1,
    count,
    step: formatNumber(c.step),
    epoch: c.epoch.toFixed(2),
    images: formatNumber(c.images_seen),
    accuracy: (c.test_accuracy * 100).toFixed(2),
  };
  if (typeof c.train_loss !== "number") {
    return t("Checkpoint {i} of {count}: step {step}, epoch {epoch}, {images} images seen, no training yet, test accuracy {accuracy}%", words);
  }
  return t("Checkpoint {i} of {count}: step {step}, epoch {epoch}, {images} images seen, training loss {loss}, test accuracy {accuracy}%", {
    ...words,
    loss: formatTick(c.train_loss),
  });
}

/**
 * @param {{track: HTMLElement, play: HTMLButtonElement, prev: HTMLButtonElement, next: HTMLButtonElement,
 *          readout: HTMLElement}} ui
 */
export function createScrubber(ui, checkpoints, { onChange }) {
  const count = checkpoints.length;
  const last = count - 1;
  let index = 0;
  let timer = 0;
  let thumb = null;
  let frame = null;

  const { track } = ui;
  track.setAttribute("role", "slider");
  track.tabIndex = 0;
  track.setAttribute("aria-valuemin", "0");
  track.setAttribute("aria-valuemax", String(last));
  track.setAttribute("aria-label", t("Training checkpoint"));

  const place = () => {
    if (!thumb) return;
    thumb.setAttribute("cx", String(frame.x(index)));
  };

  fitWidth(track, (width) => {
    track.textContent = "";
    frame = chartFrame({ width, height: TRACK_HEIGHT, count, label: t("Checkpoints"), margin: { ...TRAINING_PAGE.margin, top: 0, bottom: 0 } });
    frame.svg.setAttribute("aria-hidden", "true");
    frame.svg.removeAttribute("role");
    const mid = TRACK_HEIGHT / 2;
    frame.svg.append(svg("line", { x1: frame.plot.left, x2: frame.plot.right, y1: mid, y2: mid, class: "tr-track-line" }));
    checkpoints.forEach((c, i) => {
      frame.svg.append(svg("circle", { cx: frame.x(i), cy: mid, r: c.full ? 4 : 3, class: c.full ? "tr-notch full" : "tr-notch" }));
    });
    thumb = svg("circle", { cx: frame.x(index), cy: mid, r: 9, class: "tr-thumb" });
    frame.svg.append(thumb);
    track.append(frame.svg);
  });

  const set = (i, { fromPlay = false } = {}) => {
    const next = Math.max(0, Math.min(last, i));
    if (!fromPlay) pause();
    if (next === index && track.hasAttribute("aria-valuenow")) return;
    index = next;
    const text = describeCheckpoint(checkpoints[index], count, index);
    track.setAttribute("aria-valuenow", String(index));
    track.setAttribute("aria-valuetext", text);
    track.dataset.step = String(checkpoints[index].step);
    ui.readout.textContent = shortCheckpoint(checkpoints[index]);
    ui.prev.disabled = index === 0;
    ui.next.disabled = index === last;
    place();
    onChange(index);
  };

  const KEYS = {
    ArrowLeft: -1,
    ArrowDown: -1,
    ArrowRight: 1,
    ArrowUp: 1,
    PageDown: -Math.max(1, Math.round(count / 5)),
    PageUp: Math.max(1, Math.round(count / 5)),
  };
  track.addEventListener("keydown", (event) => {
    if (event.key in KEYS) set(index + KEYS[event.key]);
    else if (event.key === "Home") set(0);
    else if (event.key === "End") set(last);
    else return;
    event.preventDefault();
  });
  dragToPick(track, (clientX) => {
    if (frame) set(frame.indexAt(clientX));
    track.focus({ preventScroll: true });
  });
  ui.prev.addEventListener("click", () => set(index - 1));
  ui.next.addEventListener("click", () => set(index + 1));

  function showPlaying(on) {
    ui.play.setAttribute("aria-pressed", String(on));
    ui.play.textContent = on ? t("❚❚ Pause") : t("▶ Play");
    ui.play.setAttribute("aria-label", on ? t("Pause") : t("Play through the checkpoints"));
  }

  function tick() {
    if (index >= last) {
      pause();
      return;
    }
    set(index + 1, { fromPlay: true });
    timer = setTimeout(tick, TRAINING_PAGE.playMs);
  }

  function play() {
    if (timer) return;
    if (index >= last) set(0, { fromPlay: true });
    showPlaying(true);
    timer = setTimeout(tick, TRAINING_PAGE.playMs);
  }

  function pause() {
    if (timer) clearTimeout(timer);
    timer = 0;
    showPlaying(false);
  }

  ui.play.addEventListener("click", () => (timer ? pause() : play()));
  showPlaying(false);

  return {
    set,
    play,
    pause,
    get index() {
      return index;
    },
  };
}
