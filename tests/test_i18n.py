"""The interface's languages: choosing one, the catalogs (complete, used, compiled), the pages' server text."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app.i18n import catalogs, languages


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,zh-TW;q=0.5", "zh-CN"),  # the first served language, by q
        ("en;q=0.2, zh-Hans;q=0.7", "zh-CN"),
        ("zh;q=0, en", "en"),  # q=0: not acceptable
        ("de, fr", None),
        ("", None),
        ("zh;q=abc, en", "en"),  # a broken q-value counts as 0
    ],
)
def test_accept_language(header: str, lang: str | None) -> None:
    assert languages.from_accept_language(header) == lang


def test_choice_order() -> None:
    assert languages.choose("en", "zh-CN", "zh-CN") == languages.Choice("en", "query")
    assert languages.choose(None, "zh-CN", "en") == languages.Choice("zh-CN", "cookie")
    assert languages.choose(None, "xx", "zh") == languages.Choice("zh-CN", "header")
    assert languages.choose("fr", None, None) == languages.Choice("en", "default", unknown="fr")
    assert languages.choose("zh", None, None).unknown == "zh"  # ?lang= takes the exact codes only


def test_catalogs_are_complete_and_used() -> None:
    """Every marked message has a translation with the same placeholders, and every catalog message is used."""
    assert catalogs.problems() == []


def test_check_finds_untranslated_unused_and_placeholders(tmp_path) -> None:
    """The check itself fails on each kind of problem (a copy of the catalogs, broken three ways)."""
    locales = tmp_path / "locales"
    for domain in ("messages", "js"):
        src = catalogs.po_path(domain, "zh-CN")
        dst = catalogs.po_path(domain, "zh-CN", locales)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
    po = catalogs.po_path("messages", "zh-CN", locales)
    text = po.read_text(encoding="utf-8")
    text = text.replace('msgid "Skip to content"\nmsgstr "跳到正文"', 'msgid "Skip to content"\nmsgstr ""')
    text = text.replace("{models}。", "。", 1)
    text += '\nmsgid "A message nobody uses"\nmsgstr "没人用的消息"\n'
    po.write_text(text, encoding="utf-8")
    found = catalogs.problems(locales=locales)
    assert any("untranslated: 'Skip to content'" in p for p in found)
    assert any("unused: 'A message nobody uses'" in p for p in found)
    assert any("placeholders differ" in p and "{models}" in p for p in found)


def test_check_finds_messages_the_extractor_skips(tmp_path) -> None:
    """A t() inside another t()'s arguments is invisible to Babel's extractor: the check still sees it."""
    js = tmp_path / "static" / "js"
    js.mkdir(parents=True)
    (js / "page.js").write_text('show(t("Outer {inner}", { inner: t("Inner words") }));\n', encoding="utf-8")
    domain = next(d for d in catalogs.DOMAINS if d.name == "js")
    template = catalogs.extract(domain, tmp_path)
    assert "Outer {inner}" in template
    assert [p for p in catalogs.unextracted(template, tmp_path) if "Inner words" in p]
    assert not [p for p in catalogs.unextracted(template, tmp_path) if "Outer" in p]


def test_a_message_in_a_context_has_a_key_of_its_own() -> None:
    """tp("settings", ", ") and t(", ") are two messages: the scripts' catalog keys the first by its context."""
    served = json.loads((catalogs.JS_CATALOGS / "zh-CN.json").read_text(encoding="utf-8"))
    assert served["settings\u0004, "] == "，"  # noqa: RUF001 - the Chinese comma is the point
    assert served[", "] == "、"


def test_compiled_catalogs_are_current(tmp_path) -> None:
    """What the app reads is what the PO files say (scripts/setup compiles them)."""
    catalogs.compile_all(js_out=tmp_path / "js", locales=_copy_locales(tmp_path))
    fresh = json.loads((tmp_path / "js" / "zh-CN.json").read_text(encoding="utf-8"))
    served = json.loads((catalogs.JS_CATALOGS / "zh-CN.json").read_text(encoding="utf-8"))
    assert served == fresh
    compiled = (tmp_path / "locales" / "zh_CN" / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert (languages.LOCALES / "zh_CN" / "LC_MESSAGES" / "messages.mo").read_bytes() == compiled


def _copy_locales(tmp_path):
    locales = tmp_path / "locales"
    for domain in ("messages", "js"):
        dst = catalogs.po_path(domain, "zh-CN", locales)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(catalogs.po_path(domain, "zh-CN").read_bytes())
    return locales


def test_page_language_from_header_query_and_cookie(client: TestClient) -> None:
    r = client.get("/model", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert r.status_code == 200
    assert '<html lang="zh-CN"' in r.text and "网络探索" in r.text
    assert r.headers["content-language"] == "zh-CN"
    assert "Accept-Language" in r.headers["vary"] and "Cookie" in r.headers["vary"]
    assert languages.COOKIE not in r.headers.get("set-cookie", "")  # only ?lang= is remembered

    r = client.get("/model?lang=zh-CN", headers={"Accept-Language": "en"})
    assert '<html lang="zh-CN"' in r.text
    cookie = r.headers["set-cookie"]
    assert f"{languages.COOKIE}=zh-CN" in cookie and "Max-Age" in cookie and "SameSite=lax" in cookie

    # the client kept the cookie: an address without ?lang= stays Chinese
    r = client.get("/kernels", headers={"Accept-Language": "en"})
    assert '<html lang="zh-CN"' in r.text
    client.cookies.clear()
    client.cookies.set(languages.COOKIE, "en")
    r = client.get("/kernels", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en"' in r.text and "Kernel lab" in r.text


def test_language_links_keep_the_address(client: TestClient) -> None:
    r = client.get("/model?model=lenet&lang=en")
    assert 'href="?model=lenet&amp;lang=zh-CN"' in r.text
    assert 'href="?model=lenet&amp;lang=en"' in r.text


def test_address_problems_in_chinese(client: TestClient) -> None:
    r = client.get("/model?model=nope&lang=zh-CN")
    assert "?model=nope 不是本服务器提供的模型" in r.text
    r = client.get("/model?lang=fr", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-CN"' in r.text
    assert "?lang=fr 不是本站支持的语言" in r.text


def test_rendering_leaves_no_language_behind(client: TestClient) -> None:
    """The page's language lives in the request only: a Chinese page does not make the next one Chinese."""
    client.get("/model?lang=zh-CN")
    client.cookies.clear()
    r = client.get("/model", headers={"Accept-Language": "en"})
    assert '<html lang="en"' in r.text
    assert languages.current.get() == languages.DEFAULT
