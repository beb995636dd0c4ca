"""Nothing slow on a fresh server: everything a GET reads is made while the app starts (app/main.py's lifespan,
app/serving/prepared.py), so no GET route computes or reads anything then. Checked by making every function that
makes those things fail during the requests (counted, not timed)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.datasets import folder, samples
from app.labs import top
from app.main import create_app
from app.nets import fold, fold_file
from app.routes import batchnorm, pages
from app.serving import costs, inference, prepared
from harness.routes import get_addresses

# What the start-up makes: none of it may happen on a request.
START_UP_WORK = [
    (fold, "measure"),
    (fold_file, "equivalence"),
    (top, "load"),
    (costs, "profile"),
    (prepared, "prepare"),
    (inference, "prepare"),
    (samples.SampleStore, "__init__"),
    (folder.LabelledSet, "__init__"),
    (batchnorm, "load_high_lr"),
    (pages.templates.env, "compile"),  # Jinja compiles a template the first time it is asked for
]


def addresses(client: TestClient) -> list[str]:
    registry = client.app.state.convlens.registry
    layers = {name: s.model.of_kind("conv")[0].name for name, s in registry.models.items()}
    return get_addresses(client.app, layers, registry.default)


def test_everything_the_gets_read_is_made_at_start_up(settings: Settings) -> None:
    with TestClient(create_app(settings)) as fresh:  # started, and not asked anything yet
        for served in fresh.app.state.convlens.registry.models.values():
            ready = served.prepared
            assert (ready.gallery is not None) == (served.samples is not None)
            if served.model.of_kind("batchnorm") and served.samples is not None:
                assert isinstance(ready.fold, fold.Equivalence), ready.fold
            assert isinstance(ready.top, dict), ready.top  # every bundled model has its current top file
        assert fresh.app.openapi_schema is not None
        assert fresh.app.state.convlens.high_lr is not None
        assert {name for _, name in pages.templates.env.cache or {}} == set(pages.templates.env.list_templates())


def test_no_get_route_does_start_up_work(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    made = []

    def refuse(what: str):
        def made_on_a_request(*args: object, **kwargs: object) -> None:
            made.append(what)
            raise AssertionError(f"{what} on a request")

        return made_on_a_request

    for owner, name in START_UP_WORK:
        monkeypatch.setattr(owner, name, refuse(f"{getattr(owner, '__name__', owner)}.{name}"))
    asked = addresses(client)
    assert len(asked) > 60 and "/api/batchnorm/fold?model=lenet_bn_norelu" in asked
    for address in asked:
        response = client.get(address)
        assert response.status_code < 500, (address, response.text[:200])
        assert made == [], address
    statuses = {a: client.get(a).status_code for a in ("/api/batchnorm/fold", "/api/samples", "/api/batchnorm/high-lr")}
    assert set(statuses.values()) == {200}, statuses
