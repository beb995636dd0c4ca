"""Prometheus metrics at ``GET /metrics``: requests and their latency per route, and the model's forward passes.

Requests are counted and timed by prometheus-fastapi-instrumentator, labelled with the route's template
(``/api/layers/{name}/weights``, ``/static`` for every static file, ``none`` for an unknown path), so the
number of series stays fixed whatever clients ask for. The forward passes are timed where they run
(``ServedModel.forward``, which calls ``Metrics.observe_forward``): one observation per pass, which under
load holds a micro-batch of several images (``convlens_inference_images_total`` counts the images).

Every app has its own registry (tests build many apps in one process). The numbers are those of the
process that answers: exact with one process per container, as compose.yaml and deploy/kubernetes run
it. With ``WORKERS`` > 1, point ``PROMETHEUS_MULTIPROC_DIR`` at an empty writable folder before the
start (prometheus_client's multiprocess mode) for /metrics to sum every worker.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator import metrics as http_metrics

METRICS_URL = "/metrics"
# request latency, seconds: the explorer's draw updates are in the milliseconds, the labs up to seconds
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# one forward pass of a LeNet, seconds: well under a millisecond alone, more for a batch or a cold start
INFERENCE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    """The app's registry and the metrics the app records itself (the HTTP ones are the instrumentator's)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.inference_seconds = Histogram(
            "convlens_inference_seconds",
            "Duration of one forward pass through a served model (one image or a micro-batch)",
            ["model"],
            buckets=INFERENCE_BUCKETS,
            registry=self.registry,
        )
        self.inference_images = Counter(
            "convlens_inference_images",
            "Images through the forward passes of a served model",
            ["model"],
            registry=self.registry,
        )
        self.torch_threads = Gauge(
            "convlens_torch_threads",
            "torch intra-op threads of this process (CONVLENS_TORCH_THREADS, else the CPUs it may use)",
            registry=self.registry,
            multiprocess_mode="max",
        )

        # the instrumentator's request metrics (app.routes.lane records the draw pad's requests with them)
        self.http: list[Callable[[http_metrics.Info], None]] = []

    def observe_forward(self, model: str, images: int, seconds: float) -> None:
        self.inference_seconds.labels(model).observe(seconds)
        self.inference_images.labels(model).inc(images)


def install(app: FastAPI) -> Metrics:
    """Count and time every request by route template and serve ``GET /metrics`` (not in the OpenAPI
    schema: it is Prometheus' text format, not JSON). Requests to /metrics itself are not counted."""
    metrics = Metrics()
    instrumentator = Instrumentator(
        should_group_status_codes=False,  # 413 and 422 say different things
        excluded_handlers=[f"^{METRICS_URL}$"],
        registry=metrics.registry,
    )
    instrumentator.add(http_metrics.requests(registry=metrics.registry))
    instrumentator.add(http_metrics.latency(buckets=LATENCY_BUCKETS, registry=metrics.registry))
    instrumentator.instrument(app).expose(app, endpoint=METRICS_URL, include_in_schema=False)
    metrics.http = instrumentator.instrumentations
    return metrics
