/**
 * What the enlarged view of a map (inspector.js) gains from the model-insight API: below the map, the
 * receptive field of the unit under its cursor (receptive-overlay.js), which follows clicks, Enter and
 * the arrow keys, and the test digits that excite the channel most (top-panel.js).
 *
 *   const insight = createInspectorInsight({ source, onPick });
 *   new Inspector(dialog, { insight });
 *   // the inspector calls insight.render({ body, zoom, view, channel, unit }) and insight.follow(unit)
 */

import { el } from "./dom.js";
import { ReceptivePanel } from "./receptive-overlay.js";
import { topDigits } from "./top-panel.js";

const FOLLOW_DELAY_MS = 60; // arrow keys held down: ask for the field of where the cursor stops

export function createInspectorInsight({ source, onPick = null }) {
  const panel = new ReceptivePanel({ source });
  let state = null; // {host, marker, layer, channel, h, w}
  let timer = 0;

  function mark(unit) {
    const { marker, h, w } = state;
    marker.style.left = `${(unit.x / w) * 100}%`;
    marker.style.top = `${(unit.y / h) * 100}%`;
    marker.style.width = `${100 / w}%`;
    marker.style.height = `${100 / h}%`;
    marker.dataset.y = String(unit.y);
    marker.dataset.x = String(unit.x);
  }

  function showField(unit) {
    clearTimeout(timer);
    timer = 0;
    return panel.show(state.host, { model: state.model, layer: state.layer, channel: state.channel, y: unit.y, x: unit.x });
  }

  return {
    /** A spatial map was rendered in the inspector: add the unit marker and the panels. */
    render({ body, zoom, view, channel, unit }) {
      const host = el("div", "inspector-insight");
      body.append(host);
      const marker = el("span", "zoom-pick");
      marker.setAttribute("aria-hidden", "true");
      zoom.append(marker);
      state = { host, marker, model: view.info.model, layer: view.name, channel, h: view.h, w: view.w };
      mark(unit);
      showField(unit);
      if (view.kind !== "input") host.append(topDigits(view.name, channel, { onPick, model: view.info.model }));
    },

    /** The cursor moved to `unit`: move the marker now, fetch the field once it rests. */
    follow(unit, { now = false } = {}) {
      if (!state || !state.host.isConnected) return;
      mark(unit);
      clearTimeout(timer);
      if (now) showField(unit);
      else timer = setTimeout(() => showField(unit), FOLLOW_DELAY_MS);
    },
  };
}
