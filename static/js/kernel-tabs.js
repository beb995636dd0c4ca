/**
 * The kernel lab's tabs (ARIA tabs: click, or Left/Right/Home/End on the focused tab). The address's hash
 * names the tab (#conv-layer, #convolution-1d; none: the first), so a tab can be linked to and the Back
 * button returns to the previous one. `onShow(name)` runs the first time a tab is shown (its panel starts
 * then) and every time after.
 *
 *   const tabs = createTabs(document.querySelector(".lab-tabs"), { onShow: (name) => ... });
 *   tabs.show("layer");
 */

const HASHES = { filter: "", layer: "#conv-layer", signal: "#convolution-1d" };

export function createTabs(list, { onShow }) {
  const tabs = [...list.querySelectorAll('[role="tab"]')];
  const main = document.getElementById("main");

  function show(name, { focus = false, remember = true } = {}) {
    const tab = tabs.find((t) => t.dataset.tab === name) || tabs[0];
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
    main.dataset.tab = tab.dataset.tab;
    if (remember) {
      const hash = HASHES[tab.dataset.tab] ?? "";
      if (window.location.hash !== hash) history.pushState(null, "", hash || window.location.pathname + window.location.search);
    }
    onShow(tab.dataset.tab);
  }

  function fromHash() {
    const name = Object.keys(HASHES).find((k) => HASHES[k] && HASHES[k] === window.location.hash) || "filter";
    show(name, { remember: false });
  }

  for (const tab of tabs) {
    tab.addEventListener("click", () => show(tab.dataset.tab));
    tab.addEventListener("keydown", (event) => {
      const i = tabs.indexOf(tab);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      show(tabs[(next + tabs.length) % tabs.length].dataset.tab, { focus: true });
    });
  }
  window.addEventListener("hashchange", fromHash); // a link to #conv-layer, Back and Forward
  fromHash();
  return { show };
}
