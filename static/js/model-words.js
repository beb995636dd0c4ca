/**
 * A model's own words: its class names and what its test images are (digits for an MNIST model, images of
 * clothing or anything else for another), from GET /api/model or an entry of GET /api/models.
 *
 *   const words = modelWords(info);        // info: {dataset, classes}
 *   words.item                             // "digit" or "image"
 *   words.name(3)                          // "3" or "Dress"
 *   words.a(8)                             // "an 8", "a Dress", "an Ankle boot"
 *   words.named                            // true when the class names are words, not digits
 *   applyWords(document.body, words);      // every [data-word] element: item, items, Item, Items, a-item,
 *                                          // and every [data-aria-words] template ("Test {items}") as aria-label
 *   showFor(document.body, "resize");      // [data-for-preprocess] elements: only those of the model's preprocessing
 */

const DIGITS = Array.from({ length: 10 }, (_, i) => String(i));

/** "a" or "an" before `text`, by its sound: an 8, an 11, an Ankle boot, a T-shirt/top. */
export function article(text) {
  return /^(8|11(\D|$)|18(\D|$)|[aeiou])/i.test(String(text)) ? "an" : "a";
}

/** The words for a model; without one (nothing loaded yet), MNIST's digits. */
export function modelWords(info) {
  const classes = info && Array.isArray(info.classes) && info.classes.length ? info.classes : DIGITS;
  const digits = (info && info.dataset === "mnist") || classes.every((c, i) => c === String(i));
  const name = (i) => (classes[i] === undefined ? String(i) : classes[i]);
  const item = digits ? "digit" : "image";
  return {
    classes,
    item,
    items: `${item}s`,
    named: !classes.every((c, i) => c === String(i)),
    name,
    a: (i) => `${article(name(i))} ${name(i)}`,
  };
}

const FORMS = {
  item: (w) => w.item,
  items: (w) => w.items,
  Item: (w) => w.item[0].toUpperCase() + w.item.slice(1),
  Items: (w) => w.items[0].toUpperCase() + w.items.slice(1),
  "a-item": (w) => `${article(w.item)} ${w.item}`,
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
