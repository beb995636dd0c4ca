"""The message catalogs: extracting the marked strings, checking the translations, compiling them.

Two domains, one format (GNU gettext PO files under app/i18n/locales/<locale>/LC_MESSAGES/):
``messages`` holds the templates' and the server's strings, ``js`` the pages' scripts' strings. The PO
files carry no source locations and are sorted, so a change to the code changes them only where a
message changes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from app.config import PROJECT_ROOT
from app.i18n.languages import DEFAULT, LANGUAGES, LOCALES, catalog_locale

JS_CATALOGS = PROJECT_ROOT / "static" / "i18n"  # static/i18n/<lang>.json, read by static/js/i18n.js


@dataclass(frozen=True)
class Domain:
    """Where a domain's messages are written and how they are marked."""

    name: str
    method_map: tuple[tuple[str, str], ...]
    keywords: dict[str, tuple[int | tuple[int, str], ...] | None]
    options: dict[str, dict[str, str]]


DOMAINS = (
    Domain(
        "messages",
        (("app/**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")),
        {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
        {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}},
    ),
    Domain("js", (("static/js/**.js", "javascript"),), {"t": None, "tn": (1, 2), "tp": ((1, "c"), 2)}, {}),
)

HEADER = "# ConvLens interface messages ({domain}), in {language}. Terms: docs/glossary.md.\n#"
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|%\([A-Za-z_][A-Za-z0-9_]*\)[sd]")


def translated_languages() -> list[str]:
    """Every served language but the source one."""
    return [lang for lang in LANGUAGES if lang != DEFAULT]


def po_path(domain: str, lang: str, root: Path = LOCALES) -> Path:
    return root / catalog_locale(lang) / "LC_MESSAGES" / f"{domain}.po"


def extract(domain: Domain, root: Path = PROJECT_ROOT) -> Catalog:
    """Every message marked in the source of ``domain`` (the catalog's template)."""
    template = Catalog(domain=domain.name, fuzzy=False)
    for _, _lineno, message, comments, context in extract_from_dir(
        root, domain.method_map, domain.options, domain.keywords, comment_tags=("Translators:",)
    ):
        template.add(message, None, [], auto_comments=comments, context=context)
    return template


def load(path: Path, lang: str) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=catalog_locale(lang))


def save(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=0, no_location=True, sort_output=True, ignore_obsolete=True)


def update(root: Path = PROJECT_ROOT, locales: Path = LOCALES) -> list[Path]:
    """Bring every PO file up to date with the source: new messages added untranslated, messages no longer
    in the source removed. Returns the files written."""
    written = []
    for domain in DOMAINS:
        template = extract(domain, root)
        for lang in translated_languages():
            path = po_path(domain.name, lang, locales)
            if path.is_file():
                catalog = load(path, lang)
            else:
                language = LANGUAGES[lang]
                catalog = Catalog(
                    locale=catalog_locale(lang),
                    domain=domain.name,
                    header_comment=HEADER.format(domain=domain.name, language=language),
                    project="ConvLens",
                    version="0.1",
                    language_team="ConvLens",
                    last_translator="ConvLens",
                    fuzzy=False,
                )
            created = catalog.creation_date
            catalog.update(template, no_fuzzy_matching=True)
            catalog.creation_date = created  # the file changes only where its messages do
            catalog.obsolete.clear()
            save(catalog, path)
            written.append(path)
    return written


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def problems(root: Path = PROJECT_ROOT, locales: Path = LOCALES) -> list[str]:
    """What is wrong with the catalogs, a sentence each: a message used in the source but missing, empty
    or fuzzy in a catalog; a catalog message the source no longer uses; a translation that drops or
    invents a placeholder (``{name}``, ``%(name)s``)."""
    found = []
    for domain in DOMAINS:
        template = extract(domain, root)
        if domain.name == "js":
            found.extend(unextracted(template, root))
        for lang in translated_languages():
            path = po_path(domain.name, lang, locales)
            if not path.is_file():
                found.append(f"{path}: missing (run `convlens i18n extract`)")
                continue
            catalog = load(path, lang)
            where = f"{path.relative_to(locales)}"
            for message in template:
                if not message.id:
                    continue
                entry = catalog.get(message.id, message.context)
                if entry is None:
                    found.append(f"{where}: not in the catalog: {_short(message.id)}")
                elif entry.fuzzy or not _complete(entry):
                    found.append(f"{where}: untranslated: {_short(message.id)}")
                else:
                    found.extend(f"{where}: {p}" for p in _placeholder_problems(entry))
            used = {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in template if m.id}
            for entry in catalog:
                key = (entry.id if isinstance(entry.id, str) else entry.id[0], entry.context)
                if entry.id and key not in used:
                    found.append(f"{where}: unused: {_short(entry.id)}")
    return found


# A message in the scripts as a regular expression sees it: `t("...")` or `tn("...", ...)` anywhere, nested
# calls included (Babel's JavaScript extractor skips a t() inside another call's arguments or a template literal).
JS_CALL = re.compile(r'(?<![\w.$])tn?\(\s*"((?:[^"\\]|\\.)*)"')


def unextracted(template: Catalog, root: Path = PROJECT_ROOT) -> list[str]:
    """Messages written in the scripts that the extractor did not see (they would never be translated)."""
    found = []
    extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    for path in sorted((root / "static" / "js").glob("*.js")):
        if path.name == "i18n.js":  # its examples are comments
            continue
        for match in JS_CALL.finditer(path.read_text(encoding="utf-8")):
            message = json.loads(f'"{match.group(1)}"')
            if message not in extracted:
                found.append(f"{path.name}: not extracted (a t() nested in another call?): {_short(message)}")
    return found


def _short(message_id: str | tuple | list) -> str:
    text = message_id if isinstance(message_id, str) else message_id[0]
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _complete(entry: Message) -> bool:
    strings = entry.string if isinstance(entry.string, (tuple, list)) else (entry.string,)
    return bool(strings) and all(s and s.strip() for s in strings)


def _placeholder_problems(entry: Message) -> list[str]:
    sources = entry.id if isinstance(entry.id, (tuple, list)) else (entry.id,)
    wanted = set().union(*(_placeholders(s) for s in sources))
    strings = entry.string if isinstance(entry.string, (tuple, list)) else (entry.string,)
    out = []
    for s in strings:
        have = _placeholders(s or "")
        if have != wanted:
            differ = f"{sorted(wanted)} in the source, {sorted(have)} in the translation"
            out.append(f"placeholders differ ({differ}): {_short(entry.id)}")
    return out


def js_catalog(catalog: Catalog) -> dict[str, str | list[str]]:
    """A ``js`` catalog as the pages' scripts read it: source message -> translation (a plural message: its
    singular source -> the list of the language's forms; a message with a context: "context\\u0004message")."""
    out: dict[str, str | list[str]] = {}
    for entry in catalog:
        if not entry.id or entry.fuzzy or not _complete(entry):
            continue
        prefix = f"{entry.context}\u0004" if entry.context else ""
        if isinstance(entry.id, (tuple, list)):
            out[prefix + entry.id[0]] = [str(s) for s in entry.string or ()]
        else:
            out[prefix + entry.id] = str(entry.string)
    return out


def compile_all(locales: Path = LOCALES, js_out: Path = JS_CATALOGS) -> list[Path]:
    """Compile every catalog: the server's into ``messages.mo`` beside its PO file, the scripts' into
    static/i18n/<lang>.json. Returns the files written."""
    written = []
    js_out.mkdir(parents=True, exist_ok=True)
    for lang in translated_languages():
        server = po_path("messages", lang, locales)
        mo = server.with_suffix(".mo")
        with mo.open("wb") as f:
            write_mo(f, load(server, lang))
        script = js_out / f"{lang}.json"
        text = json.dumps(js_catalog(load(po_path("js", lang, locales), lang)), ensure_ascii=False, sort_keys=True)
        script.write_text(text + "\n", encoding="utf-8")
        written += [mo, script]
    return written
