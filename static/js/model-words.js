/**
 * A model's own words: its class names and what its test images are (digits for an MNIST model, images of
 * clothing or anything else for another), from GET /api/model or an entry of GET /api/models, in the
 * page's language.
 *
 *   const words = modelWords(info);        // info: {dataset, classes, class_names?}
 *   words.item                             // "digit" or "image" (Chinese: 数字 or 图像)
 *   words.digits                           // true for a digit model (test this, not the word: it is translated)
 *   words.name(3)                          // "3" or "Dress" (Chinese: 3 or 连衣裙, from the card's class_names)
 *   words.a(8)                             // "an 8", "a Dress", "an Ankle boot" (Chinese has no article: 8, 连衣裙)
 *   words.aItem                            // "a digit" or "an image" (Chinese: 数字 or 图像)
 *   words.named                            // true when the class names are words, not digits
 *   applyWords(document.body, words);      // every [data-word] element: item, items, Item, Items, a-item,
 *                                          // and every [data-aria-words] template ("Test {items}") as aria-label
 *   showFor(document.body, "resize");      // [data-for-preprocess] elements: only those of the model's preprocessing
 *   nameWidth("T恤/上衣")                  // 8: its width in `ch` (a CJK character is two)
 *
 * Class names are data: the card's `classes` unless it names them in the page's language too
 * (`class_names: {"zh-CN": [...]}`, one per class). English grammar (a/an, the plural s) lives in the
 * messages below, so another language writes its own (Chinese: no article, no plural form).
 */

import { LANG, t } from "./i18n.js";

const DIGITS = Array.from({ length: 10 }, (_, i) => String(i));

/** "a" or "an" before `text`, by its sound: an 8, an 11, an Ankle boot, a T-shirt/top. */
export function article(text) {
  return /^(8|11(\D|$)|18(\D|$)|[aeiou])/i.test(String(text)) ? "an" : "a";
}

/** The class names in the page's language: the card's translation when it names every class, else its own. */
function pageClasses(info, own) {
  const names = info && info.class_names && info.class_names[LANG];
  return Array.isArray(names) && names.length === own.length ? names.map(String) : own;
}

/** `name` with its indefinite article, as the page's language writes it (Chinese: the name alone). */
function withArticle(name) {
  return article(name) === "an" ? t("an {name}", { name }) : t("a {name}", { name });
}

/** The words for a model; without one (nothing loaded yet), MNIST's digits. */
export function modelWords(info) {
  const own = info && Array.isArray(info.classes) && info.classes.length ? info.classes : DIGITS;
  const classes = pageClasses(info, own);
  const digits = (info && info.dataset === "mnist") || own.every((c, i) => c === String(i));
  const name = (i) => (classes[i] === undefined ? String(i) : classes[i]);
  return {
    classes,
    digits,
    item: digits ? t("digit") : t("image"),
    items: digits ? t("digits") : t("images"),
    aItem: digits ? t("a digit") : t("an image"),
    named: !own.every((c, i) => c === String(i)),
    name,
    a: (i) => withArticle(name(i)),
  };
}

/** The first letter upper case (a word at the start of a sentence; Chinese has no case: unchanged). */
function capital(text) {
  return text[0].toUpperCase() + text.slice(1);
}

const FORMS = {
  item: (w) => w.item,
  items: (w) => w.items,
  Item: (w) => capital(w.item),
  Items: (w) => capital(w.items),
  "a-item": (w) => w.aItem,
};

/** `template` with {item}, {items}, {Item}, {Items} and {a-item} filled in. */
export function fillWords(template, words) {
  return template.replace(/\{([\w-]+)\}/g, (whole, key) => (FORMS[key] ? FORMS[key](words) : whole));
}

/** Write the model's words into every `[data-word]` element under `root` (the page's static text), and
 * the aria-label of every `[data-aria-words]` element from its template. */
export function applyWords(root, words) {
  for (const node of root.querySelectorAll("[data-word]")) {
    const form = FORMS[node.dataset.word];
    if (form) node.textContent = form(words);
  }
  for (const node of root.querySelectorAll("[data-aria-words]")) node.setAttribute("aria-label", fillWords(node.dataset.ariaWords, words));
}

/** Show only the `[data-for-preprocess]` elements under `root` written for `preprocess` (digit, resize, none). */
export function showFor(root, preprocess) {
  for (const node of root.querySelectorAll("[data-for-preprocess]")) node.hidden = node.dataset.forPreprocess !== (preprocess || "digit");
}

const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u;

/** The width of `text` in `ch` (the width of "0"): a CJK or fullwidth character counts two. */
export function nameWidth(text) {
  let width = 0;
  for (const c of String(text)) width += WIDE.test(c) ? 2 : 1;
  return width;
}
