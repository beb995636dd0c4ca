"""compose.yaml and the load balancer's configuration agree with each other and with the image: nginx
(pinned) reaches the `app` service on the port the image listens on, takes bodies as large as the app's
own limit, is published where it listens, keeps /metrics to the replicas, and the replicas are locked
down, one process each. Running them is scripts/docker-smoke (with the same configuration file)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = ROOT / "deploy" / "nginx" / "convlens.conf"
UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def directives(name: str) -> list[str]:
    """The arguments of every ``name`` directive in the nginx configuration (comments dropped)."""
    text = re.sub(r"#.*", "", NGINX_CONF.read_text())
    return [m.strip() for m in re.findall(rf"(?:^|[{{;\s]){re.escape(name)}\s+([^;{{]+)[;{{]", text)]


def exposed_port() -> int:
    (port,) = re.findall(r"^EXPOSE\s+(\d+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    return int(port)


def test_the_balancer_is_the_official_nginx_image_pinned_by_version(compose: dict[str, Any]) -> None:
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+(-alpine)?", compose["services"]["lb"]["image"])


def test_the_balancer_reads_the_configuration_file_that_the_smoke_test_builds_in(compose: dict[str, Any]) -> None:
    (volume,) = compose["services"]["lb"]["volumes"]
    source, target, mode = volume.split(":")
    assert (ROOT / source).resolve() == NGINX_CONF and target == "/etc/nginx/conf.d/default.conf" and mode == "ro"
    stand_in = (ROOT / "deploy" / "nginx" / "debian.Dockerfile").read_text()
    assert re.search(rf"^COPY {NGINX_CONF.name} /etc/nginx/conf\.d/\S+\.conf$", stand_in, re.MULTILINE)


def test_nginx_sends_to_every_replica_of_the_app_service_on_the_image_port(compose: dict[str, Any]) -> None:
    (upstream,) = directives("upstream")
    assert directives("proxy_pass") == [f"http://{upstream}"]
    servers = directives("server")
    assert len(servers) == 1 and servers[0].split()[0] == f"app:{exposed_port()}"
    assert "app" in compose["services"]
    assert "ports" not in compose["services"]["app"], "the replicas are reached through the balancer only"
    assert compose["services"]["app"]["expose"] == [str(exposed_port())]


def test_the_balancer_is_published_where_nginx_listens(compose: dict[str, Any]) -> None:
    (listen,) = directives("listen")
    (published,) = compose["services"]["lb"]["ports"]
    assert published.rsplit(":", 1)[1] == listen
    assert compose["services"]["lb"]["depends_on"]["app"]["condition"] == "service_healthy"


def test_nginx_takes_bodies_up_to_the_app_limit() -> None:
    """The app, not nginx, refuses a body over its limit (its 413 says which limit)."""
    (size,) = directives("client_max_body_size")
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", size.lower()).groups()
    assert int(number) * UNITS[unit] >= Settings().max_body_bytes


def test_metrics_stay_with_the_replicas() -> None:
    text = re.sub(r"#.*", "", NGINX_CONF.read_text())
    assert re.search(r"location\s*=\s*/metrics\s*\{\s*return\s+404;\s*\}", text)


def test_the_replicas_run_locked_down_one_process_each(compose: dict[str, Any]) -> None:
    app = compose["services"]["app"]
    assert app["read_only"] is True and app["tmpfs"] == ["/tmp"] and app["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in app["security_opt"]
    assert "WORKERS" not in app["environment"], "one uvicorn process per container"
    assert float(app["cpus"]) >= 1  # torch's threads follow it
    assert app["deploy"]["replicas"] >= 2
    lb = compose["services"]["lb"]
    assert lb["read_only"] is True and lb["cap_drop"] == ["ALL"]
    assert set(lb["cap_add"]) == {"CHOWN", "SETGID", "SETUID"}
