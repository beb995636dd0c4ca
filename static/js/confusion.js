/**
 * The confusion matrix of the model card. A cell off the diagonal is a button; clicking it lists the test
 * digits of that cell (true label = row, answer = column) as images, each a link to the explorer.
 *
 *   renderConfusion(table, panel, card);   // card from GET /api/model/card
 */

import { api } from "./api.js";
import { MODEL_PAGE } from "./config.js";
import { el } from "./dom.js";

function shade(count, max) {
  // a log scale: a single mistake is visible next to a thousand correct answers
  return count ? 0.08 + 0.92 * (Math.log1p(count) / Math.log1p(max)) : 0;
}

function header(text, scope) {
  const th = el("th", "", text);
  th.scope = scope;
  return th;
}

/** Show the digits of cell (label, predicted) in `panel`. */
function showCell(panel, card, label, predicted) {
  const count = card.confusion_matrix[label][predicted];
  panel.textContent = "";
  panel.dataset.label = String(label);
  panel.dataset.predicted = String(predicted);
  const title = el("h4", "cell-title");
  if (label === predicted) {
    title.textContent = `${count.toLocaleString("en-US")} test ${label}s answered correctly`;
    panel.append(title);
    return;
  }
  const digits = card.misclassified.filter((m) => m.label === label && m.predicted === predicted);
  title.textContent = `A ${label} read as ${predicted}: ${count} test digit${count === 1 ? "" : "s"}`;
  panel.append(title);
  const list = el("ul", "digit-list");
  for (const m of digits) {
    const item = el("li");
    const link = el("a", "digit-link");
    link.href = `/?sample=${m.index}`;
    link.dataset.sample = String(m.index);
    link.title = `Test digit #${m.index}: a ${m.label}, the model says ${m.predicted}. Open it in the explorer.`;
    const img = el("img", "crisp");
    img.src = api.sampleUrl(m.index);
    img.alt = `test digit ${m.index}, a ${m.label} read as ${m.predicted}`;
    img.width = MODEL_PAGE.digitPx;
    img.height = MODEL_PAGE.digitPx;
    const caption = el("span", "", `#${m.index}`);
    link.append(img, caption);
    item.append(link);
    list.append(item);
  }
  panel.append(list);
  if (digits.length < count) {
    const note = el("p", "hint", `The card lists ${digits.length} of the ${count}; run \`convlens top\` to record them all.`);
    panel.append(note);
  }
}

export function renderConfusion(table, panel, card) {
  table.textContent = "";
  const matrix = card.confusion_matrix;
  if (!matrix) {
    table.textContent = "The card has no confusion matrix.";
    return;
  }
  let offMax = 1;
  let diagMax = 1;
  matrix.forEach((row, i) => row.forEach((v, j) => (i === j ? (diagMax = Math.max(diagMax, v)) : (offMax = Math.max(offMax, v)))));
  const caption = el("caption", "visually-hidden", "Confusion matrix: rows are the true digits, columns the model's answers");
  const head = el("thead");
  const headRow = el("tr");
  headRow.append(header("true \\ answer", "col"), ...matrix.map((_, j) => header(String(j), "col")));
  head.append(headRow);
  const body = el("tbody");
  matrix.forEach((row, i) => {
    const tr = el("tr");
    tr.append(header(String(i), "row"));
    row.forEach((count, j) => {
      const diagonal = i === j;
      const td = el("td", diagonal ? "diag" : count ? "off" : "zero");
      td.dataset.label = String(i);
      td.dataset.predicted = String(j);
      td.dataset.count = String(count);
      td.style.setProperty("--shade", shade(count, diagonal ? diagMax : offMax).toFixed(3));
      if (count === 0) {
        td.textContent = "·";
        td.setAttribute("aria-label", `true ${i}, answer ${j}: none`);
      } else {
        const button = el("button", "cell-button", String(count));
        button.type = "button";
        button.setAttribute("aria-label", `true ${i}, answer ${j}: ${count} digit${count === 1 ? "" : "s"}`);
        button.addEventListener("click", () => {
          for (const pressed of table.querySelectorAll("[aria-pressed=true]")) pressed.setAttribute("aria-pressed", "false");
          button.setAttribute("aria-pressed", "true");
          showCell(panel, card, i, j);
        });
        button.setAttribute("aria-pressed", "false");
        td.append(button);
      }
      tr.append(td);
    });
    body.append(tr);
  });
  table.append(caption, head, body);
}
