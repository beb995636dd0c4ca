"""The Chinese pages' web font: a subset of Noto Sans CJK SC, so that a reader without CJK fonts sees no tofu.

``static/fonts/noto-sans-sc-subset.woff2`` holds the Simplified Chinese face of Noto Sans CJK (SIL Open Font
License 1.1, ``static/fonts/OFL.txt``) cut down to the characters the pages need:

- every CJK character of the translations (the catalogs' ``msgstr``, every translated language), of the model
  cards' translated class names (``class_names``) and of the language switch (简体中文);
- a margin for what the catalogs do not say yet and for data a page shows: GB 2312's level-1 hanzi (the 3,755
  most used characters), CJK symbols and punctuation (U+3000-303F) and the fullwidth forms (U+FF00-FFEF).

Only glyph substitutions that keep the face Simplified Chinese are kept (no ``locl`` or vertical forms,
which would pull in the Japanese, Korean and Traditional glyphs): about 0.7 MB of WOFF2. The stylesheet
declares it for the CJK ranges only (``UNICODE_RANGE``, ``unicode-range`` in static/css/app.css), so an English
page never downloads it.

Rebuild it after a translation changes (tests/test_font.py fails while a catalog's character is missing)::

    .venv/bin/python scripts/font-subset          # or: --source FONT.ttc --out FILE.woff2

fontTools and brotli (the dev extra) do the subsetting; the app itself does not need them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from app.config import PROJECT_ROOT
from app.i18n.languages import LANGUAGES, LOCALES

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")  # Debian's fonts-noto-cjk
FACE = "Noto Sans CJK SC"
FONT = PROJECT_ROOT / "static" / "fonts" / "noto-sans-sc-subset.woff2"
MODELS = PROJECT_ROOT / "models"
# The code points the web font is declared for (CSS unicode-range): CJK radicals, symbols and punctuation, kana,
# CJK unified ideographs (with extension A), compatibility ideographs, vertical and compatibility forms, and the
# halfwidth and fullwidth forms. Nothing Latin: English text never asks for this font.
RANGES = (
    (0x2E80, 0x2FDF),
    (0x3000, 0x30FF),
    (0x3190, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFE10, 0xFE1F),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
)
UNICODE_RANGE = ", ".join(f"U+{lo:X}-{hi:X}" for lo, hi in RANGES)
LAYOUT_FEATURES = ["ccmp", "kern", "palt", "halt", "chws"]  # spacing of punctuation; no glyphs of other locales


def is_cjk(char: str) -> bool:
    """Whether the web font is declared for ``char`` (one of RANGES)."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in RANGES)


def cjk(text: Iterable[str]) -> set[str]:
    return {c for c in text if is_cjk(c)}


def catalog_characters(locales: Path = LOCALES, models: Path = MODELS) -> set[str]:
    """Every CJK character a translated page can show from the catalogs, the model cards and the switch."""
    found = cjk("".join(LANGUAGES.values()))
    for po in sorted(locales.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as f:
            catalog = read_po(f)
        for message in catalog:
            strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
            found |= cjk("".join(s for s in strings if s))
    for card in sorted(models.glob("*.json")):
        found |= cjk("".join(_class_names(json.loads(card.read_text(encoding="utf-8")))))
    return found


def _class_names(card: Any) -> list[str]:
    names = card.get("class_names") if isinstance(card, dict) else None
    if not isinstance(names, dict):
        return []
    return [str(n) for lists in names.values() if isinstance(lists, list) for n in lists]


def gb2312_level1() -> set[str]:
    """GB 2312's level-1 hanzi: rows 16-55 of the code table, the 3,755 characters in everyday use."""
    found = set()
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                found.add(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:
                continue  # the last row ends early
    return found


def margin_characters() -> set[str]:
    """What the font holds beyond the catalogs: common hanzi, CJK punctuation, fullwidth forms."""
    punctuation = {chr(c) for c in range(0x3000, 0x3040)} | {chr(c) for c in range(0xFF00, 0xFFF0)}
    return gb2312_level1() | punctuation


def wanted_characters(locales: Path = LOCALES, models: Path = MODELS) -> set[str]:
    return catalog_characters(locales, models) | margin_characters()


def font_characters(path: Path = FONT) -> set[str]:
    """The characters the font at ``path`` has a glyph for (its cmap)."""
    from fontTools.ttLib import TTFont

    with TTFont(path) as font:
        return {chr(code) for code in font.getBestCmap()}


def build(chars: set[str], source: Path = SOURCE, out: Path = FONT) -> int:
    """Write the WOFF2 subset of ``source``'s Simplified Chinese face holding ``chars`` to ``out``; returns its size
    in bytes."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    with TTCollection(source) as collection:
        names = [face["name"].getDebugName(4) for face in collection.fonts]
    if FACE not in names:
        raise ValueError(f"{source} has no {FACE} face (it has {', '.join(map(str, names))})")
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = LAYOUT_FEATURES
    font = TTFont(source, fontNumber=names.index(FACE))
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(chars)))
    subsetter.subset(font)
    out.parent.mkdir(parents=True, exist_ok=True)
    font.flavor = "woff2"
    font.save(out)
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Write the Chinese pages' web font (a subset of Noto Sans CJK SC).")
    parser.add_argument("--source", type=Path, default=SOURCE, help=f"the Noto Sans CJK collection (default {SOURCE})")
    parser.add_argument("--out", type=Path, default=FONT, help="the WOFF2 file to write")
    args = parser.parse_args(argv)
    chars = wanted_characters()
    catalogs = catalog_characters()
    size = build(chars, args.source, args.out)
    missing = sorted(catalogs - font_characters(args.out))
    print(f"{args.out}: {len(chars)} characters ({len(catalogs)} from the catalogs and cards), {size:,} bytes")
    if missing:
        print(f"not in {args.source}: {''.join(missing)}")
        return 1
    return 0
