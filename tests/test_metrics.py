"""GET /metrics: Prometheus' text format, parsed with prometheus_client's own parser, counting a known
sequence of requests on a fresh app exactly: per route template (never a raw path), method and status,
their latencies, and the model's forward passes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from app.config import Settings
from app.datasets import mnist
from app.main import create_app
from app.serving.metrics import METRICS_URL

WEIGHTS = "/api/layers/{name}/weights"
ACTIVATIONS = "/api/activations"


@pytest.fixture
def fresh(settings: Settings) -> Iterator[TestClient]:
    """An app of its own: its registry starts at zero."""
    with TestClient(create_app(replace(settings, torch_threads=1)), raise_server_exceptions=False) as c:
        yield c


def scrape(client: TestClient) -> dict[str, list[Sample]]:
    response = client.get(METRICS_URL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and s.labels.items() >= labels.items()]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def pixels(seed: int) -> list[list[float]]:
    """A different drawn digit per seed: test digit ``seed`` (uniform noise is no digit and may be refused)."""
    return (mnist.load("test").images[seed] / 255).round(3).tolist()


def test_requests_are_counted_per_route_template_method_and_status(fresh: TestClient) -> None:
    for name in ("conv1", "bn1", "fc2"):
        assert fresh.get(f"/api/layers/{name}/weights").status_code == 200
    assert fresh.get("/api/layers/nope/weights").status_code == 404
    assert fresh.get("/no/such/page").status_code == 404
    assert fresh.get("/static/favicon.svg").status_code == 200
    assert fresh.post(ACTIVATIONS, json={"pixels": pixels(0)}).status_code == 200
    assert fresh.post(ACTIVATIONS, json={"pixels": [[2.0]]}).status_code == 422
    fresh.get(METRICS_URL)  # not counted

    counts = scrape(fresh)["http_requests"]
    assert value(counts, "http_requests_total", handler=WEIGHTS, method="GET", status="200") == 3
    assert value(counts, "http_requests_total", handler=WEIGHTS, method="GET", status="404") == 1
    assert value(counts, "http_requests_total", handler="none", method="GET", status="404") == 1
    assert value(counts, "http_requests_total", handler="/static", method="GET", status="200") == 1
    assert value(counts, "http_requests_total", handler=ACTIVATIONS, method="POST", status="200") == 1
    assert value(counts, "http_requests_total", handler=ACTIVATIONS, method="POST", status="422") == 1
    total = sum(s.value for s in counts if s.name == "http_requests_total")
    assert total == 8  # everything above but the scrape


def test_route_labels_are_templates_whatever_the_paths(fresh: TestClient) -> None:
    """Many different URLs (layer names, sample ids, unknown paths) make no new series: every handler
    label is one of the app's route templates, or "none"."""
    for i in range(20):
        fresh.get(f"/api/layers/layer{i}/weights")
        fresh.get(f"/api/samples/{i}.png")
        fresh.get(f"/unknown/{i}")
    templates = {r.path for r in iter_route_contexts(fresh.app.routes)} | {"none"}
    handlers = {s.labels["handler"] for s in scrape(fresh)["http_requests"]}
    assert handlers <= templates, handlers - templates
    assert {WEIGHTS, "/api/samples/{id}.png", "none"} <= handlers
    assert not any(any(ch.isdigit() for ch in h) for h in handlers), handlers


def test_latencies_are_histograms_per_route(fresh: TestClient) -> None:
    for seed in range(3):
        assert fresh.post(ACTIVATIONS, json={"pixels": pixels(seed)}).status_code == 200
    samples = scrape(fresh)["http_request_duration_seconds"]
    labels = {"handler": ACTIVATIONS, "method": "POST", "status": "200"}
    buckets = sorted(
        (float(s.labels["le"]), s.value)
        for s in samples
        if s.name.endswith("_bucket") and s.labels.items() >= labels.items()
    )
    counts = [c for _, c in buckets]
    assert counts == sorted(counts), "cumulative buckets"
    assert buckets[-1] == (float("inf"), 3)
    assert value(samples, "http_request_duration_seconds_count", **labels) == 3
    assert value(samples, "http_request_duration_seconds_sum", **labels) > 0


def test_forward_passes_are_timed_per_model(fresh: TestClient) -> None:
    """One request at a time: one forward pass (of one image) each. The passes run inside the requests,
    so they take less time than the requests that ran them."""
    for seed in range(3):
        fresh.post(ACTIVATIONS, json={"pixels": pixels(seed)})
    fresh.post(f"{ACTIVATIONS}?model=lenet", json={"pixels": pixels(9)})
    scraped = scrape(fresh)
    inference, images = scraped["convlens_inference_seconds"], scraped["convlens_inference_images"]
    assert value(inference, "convlens_inference_seconds_count", model="lenet_bn") == 3
    assert value(inference, "convlens_inference_seconds_count", model="lenet") == 1
    assert value(images, "convlens_inference_images_total", model="lenet_bn") == 3
    forward = value(inference, "convlens_inference_seconds_sum", model="lenet_bn")
    requests = value(
        scraped["http_request_duration_seconds"],
        "http_request_duration_seconds_sum",
        handler=ACTIVATIONS,
        method="POST",
        status="200",
    )
    assert 0 < forward < requests


def test_the_torch_threads_are_reported(fresh: TestClient) -> None:
    assert value(scrape(fresh)["convlens_torch_threads"], "convlens_torch_threads") == 1


def test_the_metrics_route_is_not_in_the_api_schema(fresh: TestClient) -> None:
    assert METRICS_URL not in fresh.app.openapi()["paths"]
