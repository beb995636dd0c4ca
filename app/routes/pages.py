"""HTML pages: Jinja2 templates that load one ES module each (no inline scripts: data travels in
``data-`` attributes and through the API)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.config import PROJECT_ROOT
from app.i18n import catalogs, languages
from app.i18n.languages import gettext as _
from app.labs.batchnorm import DEFAULT_SAMPLES, MAX_BATCH
from app.routes.deps import State, state

templates = Jinja2Templates(directory=PROJECT_ROOT / "templates")
templates.env.add_extension("jinja2.ext.i18n")
templates.env.policies["ext.i18n.trimmed"] = True  # a message's line breaks and indentation are not part of it
templates.env.install_gettext_callables(languages.gettext, languages.ngettext, newstyle=True)  # type: ignore[attr-defined]

router = APIRouter(include_in_schema=False)


def compile_templates() -> None:
    """Compile every page template now (at start-up) rather than on its first request, and load every
    language's compiled catalogs (a missing one stops the start-up with the command that makes it, instead
    of failing the first page in that language)."""
    for path in sorted((PROJECT_ROOT / "templates").glob("*.html")):
        templates.env.get_template(path.name)
    for lang in languages.LANGUAGES:
        languages.translations(lang)
        catalog_version(lang)


@dataclass
class Link:
    """What the page's address asks for, checked: the model to show, the test digit (if any and valid), and
    a sentence for every part of the address that cannot be followed (shown in the page's error banner
    until the reader dismisses it)."""

    model: str | None = None
    sample: int | None = None
    problems: list[str] = field(default_factory=list)


def read_link(request: Request, uses_model: bool = True) -> Link:
    """``?model=`` and ``?sample=`` of a page's address. ``uses_model``: the page shows a model (else a
    model name is only checked). A served model is always shown, even where some of a page's views do not
    apply to it (no BatchNorm layers, no timeline): the page says why in those views."""
    st: State = state(request)
    registry = st.registry
    link = Link(model=registry.default if uses_model else None)
    models = list(registry.models)
    wanted = request.query_params.get("model") or None
    if wanted is not None:
        if wanted not in registry.models:
            text = (
                _("?model={wanted} is not a served model; showing {default}. The models: {models}.")
                if uses_model
                else _("?model={wanted} is not a served model. The models: {models}.")
            )
            link.problems.append(text.format(wanted=wanted, default=registry.default, models=", ".join(models)))
        elif uses_model:
            link.model = wanted
    raw = request.query_params.get("sample")
    samples = registry.models[link.model or registry.default].samples
    if raw is not None and samples is None:
        text = _("?sample={raw}: {model} has no test images here.")
        link.problems.append(text.format(raw=raw, model=link.model or registry.default))
    elif raw is not None and samples is not None:
        last = len(samples) - 1
        if not re.fullmatch(r"\s*\d+\s*", raw):
            text = _("?sample={raw} is not a test image id: use a whole number from 0 to {last}.")
            link.problems.append(text.format(raw=raw, last=last))
        elif int(raw) > last:
            text = _("?sample={raw} is not a test image: the ids go from 0 to {last}.")
            link.problems.append(text.format(raw=int(raw), last=last))
        else:
            link.sample = int(raw)
    return link


def choose_language(request: Request) -> languages.Choice:
    """The page's language: ``?lang=``, the cookie, Accept-Language, English (app/i18n/languages.py)."""
    return languages.choose(
        request.query_params.get("lang"),
        request.cookies.get(languages.COOKIE),
        request.headers.get("accept-language"),
    )


def language_links(request: Request, current: str) -> list[dict[str, Any]]:
    """The navigation's language switch: each language's link keeps the rest of the page's address."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return [
        {"code": code, "name": name, "href": "?" + urlencode([*query, ("lang", code)]), "current": code == current}
        for code, name in languages.LANGUAGES.items()
    ]


@cache
def catalog_version(lang: str) -> str:
    """A short digest of the scripts' compiled catalog of ``lang`` (it travels in the catalog's URL, so a
    browser never keeps an old one): '' for the source language."""
    if lang == languages.DEFAULT:
        return ""
    path = catalogs.JS_CATALOGS / f"{lang}.json"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: compile the catalogs with `convlens i18n compile`")
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def render(
    request: Request, template: str, page: str, module: str, uses_model: bool = True, **context: Any
) -> HTMLResponse:
    """Render ``template`` in the page's language with the navigation's active ``page``, the page's ES
    ``module`` (a file under static/js/) and what its address asked for (read_link: <main>'s data-model and
    data-sample, and the error banner, shown at once when the address has a problem); <main>'s
    data-default-model names the model an address without ?model= shows. A ``?lang=`` is remembered in a
    cookie; the answer varies with the cookie and Accept-Language. ``root`` is the path prefix behind a
    reverse proxy (ASGI's root_path, app/serving/root_path.py; "" without one): every link, style and script
    of the page starts with it, and <html data-root> tells the JavaScript (static/js/root.js)."""
    choice = choose_language(request)
    token = languages.current.set(choice.lang)
    try:
        link = read_link(request, uses_model)
        if choice.unknown is not None:
            text = _("?lang={lang} is not a language of this site: use {codes}.")
            link.problems.append(text.format(lang=choice.unknown, codes=" / ".join(languages.LANGUAGES)))
        default = state(request).registry.default
        root = str(request.scope.get("root_path", "")).rstrip("/")
        response = templates.TemplateResponse(
            request,
            template,
            {
                "page": page,
                "module": module,
                "link": link,
                "default_model": default,
                "root": root,
                "lang": choice.lang,
                "language_links": language_links(request, choice.lang),
                "catalog_version": catalog_version(choice.lang),
                **context,
            },
        )
    finally:
        languages.current.reset(token)
    response.headers["Content-Language"] = choice.lang
    response.headers["Vary"] = "Accept-Language, Cookie"
    if choice.source == "query":
        response.set_cookie(languages.COOKIE, choice.lang, max_age=languages.COOKIE_MAX_AGE, samesite="lax", path="/")
    return response


@router.get("/", response_class=HTMLResponse)
async def explorer(request: Request) -> HTMLResponse:
    """The explorer: upload, paste or draw a digit and see every layer."""
    return render(
        request,
        "explorer.html",
        page="explorer",
        module="explorer.js",
        max_upload_bytes=state(request).settings.max_upload_bytes,
    )


@router.get("/model", response_class=HTMLResponse)
async def model_page(request: Request) -> HTMLResponse:
    """The model: architecture arithmetic, the model card, every conv filter and a 1x1 convolution demo."""
    return render(request, "model.html", page="model", module="model-page.js")


@router.get("/kernels", response_class=HTMLResponse)
async def kernels_page(request: Request) -> HTMLResponse:
    """The kernel lab: draw kernels, slide them over any image, step through a pixel, pool, try them in the network."""
    return render(
        request,
        "kernels.html",
        page="kernels",
        module="kernels.js",
        uses_model=False,
        max_upload_bytes=state(request).settings.max_upload_bytes,
    )


@router.get("/batchnorm", response_class=HTMLResponse)
async def batchnorm_page(request: Request) -> HTMLResponse:
    """The BatchNorm lab: per-channel statistics, train against eval mode, folding, BN against no BN (a model
    without BatchNorm layers is shown too: the sections that need them say so)."""
    return render(
        request,
        "batchnorm.html",
        page="batchnorm",
        module="batchnorm.js",
        max_batch=MAX_BATCH,
        default_samples=DEFAULT_SAMPLES,
    )


@router.get("/training", response_class=HTMLResponse)
async def training_page(request: Request) -> HTMLResponse:
    """The training timeline: the checkpoints behind one scrubber (curves, filters, a digit's maps and answer),
    the covariate-shift drift with and without BatchNorm, and the network without ReLU before max pooling."""
    return render(
        request,
        "training.html",
        page="training",
        module="training.js",
        max_upload_bytes=state(request).settings.max_upload_bytes,
    )
