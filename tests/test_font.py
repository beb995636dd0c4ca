"""The Chinese pages' web font (static/fonts/noto-sans-sc-subset.woff2) has a glyph for every CJK character the
translations use, so that a new translation cannot bring tofu back unnoticed: rerun scripts/font-subset."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from app.config import PROJECT_ROOT
from app.i18n import font

CSS = PROJECT_ROOT / "static" / "css" / "app.css"


def test_every_character_of_the_catalogs_is_in_the_font() -> None:
    used = font.catalog_characters()
    assert "模" in used and "裤" in used  # the catalogs ("模型") and fashion_vgg's class names (裤子)
    missing = sorted(used - font.font_characters(font.FONT))
    assert missing == [], f"not in {font.FONT.name}: {''.join(missing)} (run scripts/font-subset)"


def test_the_font_holds_the_margin_and_stays_small() -> None:
    have = font.font_characters(font.FONT)
    assert font.gb2312_level1() <= have
    punctuation = {
        "\u3001",
        "\u3002",
        "\uff08",
        "\uff09",
        "\uff0c",
        "\uff1a",
        "\uff1b",
    }  # the ideographic comma and full stop, fullwidth ( ) , : ;
    assert punctuation <= have  # the CJK and fullwidth punctuation of the translations
    assert len(font.gb2312_level1()) == 3755
    assert font.FONT.stat().st_size < 1_000_000


def test_a_new_character_in_a_catalog_is_found(tmp_path: Path) -> None:
    catalog = Catalog(locale="zh_CN")
    catalog.add("Dragon", "龘")  # not a common hanzi: not in the font
    po = tmp_path / "zh_CN" / "LC_MESSAGES" / "js.po"
    po.parent.mkdir(parents=True)
    with po.open("wb") as f:
        write_po(f, catalog)
    used = font.catalog_characters(locales=tmp_path, models=tmp_path)
    assert "龘" in used and "龘" not in font.font_characters(font.FONT)


def test_the_stylesheet_declares_the_font_for_cjk_only() -> None:
    css = CSS.read_text(encoding="utf-8")
    face = re.search(r"@font-face\s*\{([^}]*)\}", css)
    assert face, "app.css declares the web font"
    assert 'url("../fonts/noto-sans-sc-subset.woff2") format("woff2")' in face.group(1)
    assert re.search(r"unicode-range:\s*([^;]+);", face.group(1)).group(1) == font.UNICODE_RANGE  # type: ignore[union-attr]
    assert "font-display: swap" in face.group(1)
    assert all(not font.is_cjk(c) for c in "AZaz09.,:;()%")  # English text never asks for it
    zh = re.search(r":root:lang\(zh\)\s*\{([^}]*)\}", css)
    assert zh and re.search(r'--sans:\s*"ConvLens Noto Sans SC",', zh.group(1))
