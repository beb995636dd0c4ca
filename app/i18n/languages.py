"""Which language a page is shown in, and the server's own translations.

A page's language comes from, in order: ``?lang=`` in its address (which the reply also stores in a
cookie, so the choice is remembered), that cookie, the browser's ``Accept-Language``, English.
``zh-CN`` stands for every Chinese request (a reader of Traditional Chinese is better served by Simplified
Chinese than by English); every other language falls back to English.
"""

from __future__ import annotations

import gettext as stdlib_gettext
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = {"en": "English", "zh-CN": "简体中文"}  # code -> its own name, for the switch
DEFAULT = "en"
COOKIE = "convlens_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600  # seconds
DOMAIN = "messages"


def catalog_locale(lang: str) -> str:
    """``zh-CN`` -> ``zh_CN``: the folder of a language's catalogs."""
    return lang.replace("-", "_")


def supported(code: str | None) -> str | None:
    """The served language a language tag asks for (``zh``, ``zh-Hans-CN``, ``ZH-tw`` -> ``zh-CN``;
    ``en-GB`` -> ``en``), or None."""
    if not code:
        return None
    primary = code.strip().split("-")[0].split("_")[0].lower()
    return {"zh": "zh-CN", "en": "en"}.get(primary)


def from_accept_language(header: str | None) -> str | None:
    """The first served language of an ``Accept-Language`` header, by its q-values (None: none served)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0 and (lang := supported(tag)) is not None:
            ranked.append((-q, position, lang))
    return min(ranked)[2] if ranked else None


@dataclass(frozen=True)
class Choice:
    """The page's language, where it came from, and the ``?lang=`` value that could not be followed."""

    lang: str
    source: str  # "query", "cookie", "header" or "default"
    unknown: str | None = None


def choose(query: str | None, cookie: str | None, accept_language: str | None) -> Choice:
    """The language of a page: ``?lang=`` (exact codes only), the cookie, Accept-Language, English."""
    unknown = None
    if query is not None:
        if query in LANGUAGES:
            return Choice(query, "query")
        unknown = query
    if cookie in LANGUAGES:
        return Choice(cookie, "cookie", unknown)
    if (lang := from_accept_language(accept_language)) is not None:
        return Choice(lang, "header", unknown)
    return Choice(DEFAULT, "default", unknown)


@cache
def translations(lang: str) -> stdlib_gettext.NullTranslations:
    """The compiled server catalog of ``lang`` (English: the source strings themselves). Loaded once per
    process and only read afterwards."""
    if lang == DEFAULT:
        return stdlib_gettext.NullTranslations()
    mo = LOCALES / catalog_locale(lang) / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not mo.is_file():
        raise RuntimeError(f"{mo} is missing: compile the catalogs with `convlens i18n compile` (scripts/setup does)")
    with mo.open("rb") as f:
        return stdlib_gettext.GNUTranslations(f)


# The language of the page being rendered: set by the page route, read by the templates' gettext.
current: ContextVar[str] = ContextVar("convlens_lang", default=DEFAULT)


def gettext(message: str) -> str:
    """``message`` in the current page's language."""
    return translations(current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural message for ``n`` in the current page's language."""
    return translations(current.get()).ngettext(singular, plural, n)
