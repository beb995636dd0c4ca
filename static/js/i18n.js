/**
 * The page's language: every string a person reads goes through here.
 *
 *   import { t, tn, formatNumber, LANG } from "./i18n.js";
 *   t("Layer {name} has {count} channels", { name, count })    // English source -> the page's language
 *   tn("{n} image", "{n} images", n, { n })                      // singular/plural by n
 *   tp("settings", ", ")                                         // the same English in a context of its own
 *
 * The first argument is always a string literal (ESLint enforces it): `convlens i18n extract` finds the
 * messages in the source and writes them into app/i18n/locales/<locale>/LC_MESSAGES/js.po; the compiled
 * catalog, static/i18n/<lang>.json, is loaded once here (top-level await: every module that imports this
 * one runs after it has arrived). Placeholders are {names}, filled from `params`. Layer names, units and
 * formulas are passed as placeholders, never translated (they are the API).
 *
 * The language is <html lang>, which the server chose (?lang=, the cookie, Accept-Language). The
 * navigation's language links keep the page's current address (a model or sample chosen since it loaded).
 */

export const LANG = document.documentElement.lang || "en";
const SOURCE = "en";

async function loadCatalog(lang) {
  if (lang === SOURCE) return {};
  const version = document.documentElement.dataset.i18nVersion || "";
  const url = new URL(`../i18n/${lang}.json`, import.meta.url);
  if (version) url.searchParams.set("v", version);
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${response.status}`);
    return await response.json();
  } catch (error) {
    // eslint-disable-next-line no-console -- the page still works, in English
    console.warn(`The ${lang} messages could not be loaded (${error.message}); the page stays in English.`);
    return {};
  }
}

const catalog = await loadCatalog(LANG);

function fill(text, params) {
  if (!params) return text;
  return text.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : match,
  );
}

/** `message` (an English string literal) in the page's language, its {placeholders} filled from `params`. */
export function t(message, params) {
  const translated = catalog[message];
  return fill(typeof translated === "string" ? translated : message, params);
}

/**
 * `message` said in a `context` (a string literal too): the same English words may need different words in
 * another language (", " between a layer's settings is "，" in Chinese, between names "、").
 */
export function tp(context, message, params) {
  const translated = catalog[`${context}\u0004${message}`];
  return fill(typeof translated === "string" ? translated : message, params);
}

/** The singular or plural message for `n`, in the page's language (Chinese has one form). */
export function tn(singular, plural, n, params) {
  const forms = catalog[singular];
  if (Array.isArray(forms) && forms.length) {
    const index = forms.length === 1 ? 0 : pluralIndex(n, forms.length);
    return fill(forms[index], params);
  }
  return fill(n === 1 ? singular : plural, params);
}

function pluralIndex(n, count) {
  const category = new Intl.PluralRules(LANG).select(n);
  return Math.min(category === "one" ? 0 : 1, count - 1);
}

/** A number as the page's language writes it (grouping, decimals): Intl.NumberFormat options. */
export function formatNumber(value, options) {
  return new Intl.NumberFormat(LANG, options).format(value);
}

/** A list of words joined as the page's language joins them ("a, b and c" / "a、b和c"). */
export function formatList(items, type = "conjunction") {
  return new Intl.ListFormat(LANG, { style: "long", type }).format(items.map(String));
}

/** The navigation's language links carry the page's current address (without JS they carry the one the page was served with). */
function wireLanguageSwitch() {
  for (const link of document.querySelectorAll("a[data-lang]")) {
    link.addEventListener("click", () => {
      const params = new URLSearchParams(window.location.search);
      params.set("lang", link.dataset.lang);
      link.search = `?${params}`;
    });
  }
}

wireLanguageSwitch();
