/**
 * The confusion matrix of the model card. A cell off the diagonal is a button; clicking it lists the test
 * images of that cell (true label = row, answer = column), each a link to the explorer. Rows and columns
 * are named by the model's classes (model-words.js).
 *
 *   renderConfusion(table, panel, card, { words, model });   // card from GET /api/model/card
 */

import { api } from "./api.js";
import { MODEL_PAGE } from "./config.js";
import { el } from "./dom.js";
import { formatNumber, t } from "./i18n.js";
import { pageUrl } from "./model-switch.js";
import { modelWords } from "./model-words.js";

function shade(count, max) {
  // a log scale: a single mistake is visible next to a thousand correct answers
  return count ? 0.08 + 0.92 * (Math.log1p(count) / Math.log1p(max)) : 0;
}

function header(text, scope) {
  const th = el("th", "", text);
  th.scope = scope;
  return th;
}

/** Show the images of cell (label, predicted) in `panel`. */
function showCell(panel, card, label, predicted, words, model) {
  const count = card.confusion_matrix[label][predicted];
  const { name, item, items } = words;
  const what = count === 1 ? item : items; // the model's word for its test images, in the page's language
  panel.textContent = "";
  panel.dataset.label = String(label);
  panel.dataset.predicted = String(predicted);
  const title = el("h4", "cell-title");
  if (label === predicted) {
    title.textContent = t("{count} test {items} of class {name} answered correctly", { count: formatNumber(count), items, name: name(label) });
    panel.append(title);
    return;
  }
  const digits = card.misclassified.filter((m) => m.label === label && m.predicted === predicted);
  const a = words.a(label);
  title.textContent = t("{a} read as {answer}: {count} test {items}", { a: `${a[0].toUpperCase()}${a.slice(1)}`, answer: name(predicted), count, items: what });
  panel.append(title);
  const list = el("ul", "digit-list");
  for (const m of digits) {
    const entry = el("li");
    const link = el("a", "digit-link");
    link.href = pageUrl("/", { sample: m.index, model });
    link.dataset.sample = String(m.index);
    link.title = t("Test {item} #{index}: {a}, the model says {answer}. Open it in the explorer.", { item, index: m.index, a: words.a(m.label), answer: name(m.predicted) });
    const img = el("img", "crisp");
    img.src = api.sampleUrl(m.index, { model });
    img.alt = t("test {item} {index}, {a} read as {answer}", { item, index: m.index, a: words.a(m.label), answer: name(m.predicted) });
    img.width = MODEL_PAGE.digitPx;
    img.height = MODEL_PAGE.digitPx;
    const caption = el("span", "", `#${m.index}`);
    link.append(img, caption);
    entry.append(link);
    list.append(entry);
  }
  panel.append(list);
  if (digits.length < count) {
    const note = el("p", "hint", t("The card lists {shown} of the {count}; run `convlens top` to record them all.", { shown: digits.length, count }));
    panel.append(note);
  }
}

export function renderConfusion(table, panel, card, { words = modelWords(null), model } = {}) {
  table.textContent = "";
  const matrix = card.confusion_matrix;
  if (!matrix) {
    table.textContent = t("The card has no confusion matrix.");
    return;
  }
  let offMax = 1;
  let diagMax = 1;
  matrix.forEach((row, i) => row.forEach((v, j) => (i === j ? (diagMax = Math.max(diagMax, v)) : (offMax = Math.max(offMax, v)))));
  const { name } = words;
  const caption = el("caption", "visually-hidden", t("Confusion matrix: rows are the true classes, columns the model's answers"));
  const head = el("thead");
  const headRow = el("tr");
  headRow.append(header(t("true \\ answer"), "col"), ...matrix.map((_, j) => header(name(j), "col")));
  head.append(headRow);
  table.classList.toggle("named", words.named);
  const body = el("tbody");
  matrix.forEach((row, i) => {
    const tr = el("tr");
    tr.append(header(name(i), "row"));
    row.forEach((count, j) => {
      const diagonal = i === j;
      const td = el("td", diagonal ? "diag" : count ? "off" : "zero");
      td.dataset.label = String(i);
      td.dataset.predicted = String(j);
      td.dataset.count = String(count);
      td.style.setProperty("--shade", shade(count, diagonal ? diagMax : offMax).toFixed(3));
      if (count === 0) {
        td.textContent = "·";
        td.setAttribute("aria-label", t("true {label}, answer {answer}: none", { label: name(i), answer: name(j) }));
      } else {
        const button = el("button", "cell-button", String(count));
        button.type = "button";
        const what = count === 1 ? words.item : words.items;
        button.setAttribute("aria-label", t("true {label}, answer {answer}: {count} {items}", { label: name(i), answer: name(j), count, items: what }));
        button.addEventListener("click", () => {
          for (const pressed of table.querySelectorAll("[aria-pressed=true]")) pressed.setAttribute("aria-pressed", "false");
          button.setAttribute("aria-pressed", "true");
          showCell(panel, card, i, j, words, model);
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
