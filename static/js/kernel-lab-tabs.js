/**
 * The kernel lab's three tabs and their panels: the first (a kernel on an image) is kernels.js itself; the
 * conv layer (conv-layer.js) and convolution in 1-D (signal-panel.js) start the first time they are shown.
 * Errors carry the panel's name as their origin ("layer", "signal"), so that a success there hides only its
 * own error.
 *
 *   createLabTabs(tablist, linkToLayerTab, { onError: (message, origin) => ..., onShown: (origin) => ... });
 */

import { startConvLayer } from "./conv-layer.js";
import { createTabs } from "./kernel-tabs.js";
import { startSignal } from "./signal-panel.js";

const PANELS = { layer: startConvLayer, signal: startSignal };

export function createLabTabs(list, link, { onError, onShown }) {
  const started = new Set();
  const tabs = createTabs(list, {
    onShow: (name) => {
      if (!PANELS[name] || started.has(name)) return;
      started.add(name);
      PANELS[name]({ onError: (message) => onError(message, name), onShown: () => onShown(name) });
    },
  });
  link.addEventListener("click", (event) => {
    event.preventDefault();
    tabs.show("layer", { focus: true });
  });
  return tabs;
}
