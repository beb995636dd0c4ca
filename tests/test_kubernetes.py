"""deploy/kubernetes: every manifest valid against the Kubernetes API schemas (kubernetes-validate, strict:
unknown fields are errors), with the network refused, and what the schemas cannot see: the objects
refer to each other by the right names, labels and ports, the probes ask /healthz on the image's port,
the pods run locked down as the image's user, and the kustomization applies everything but the Ingress."""

from __future__ import annotations

import copy
import re
import socket
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import ValidationError

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "deploy" / "kubernetes"
# the oldest and the newest Kubernetes versions the manifests are checked against
VERSIONS = ["1.29.0", "1.37.0"]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network (a schema fetched from the internet) fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access from an offline check: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def manifest_files() -> list[Path]:
    return sorted(p for p in MANIFESTS.glob("*.yaml") if p.name != "kustomization.yaml")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def by_kind() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in manifest_files():
        for doc in documents(path):
            assert doc["kind"] not in found, f"two {doc['kind']} objects"
            found[doc["kind"]] = doc
    return found


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def dockerfile_value(instruction: str) -> str:
    """The argument of the last ``instruction`` (e.g. USER, EXPOSE) in the project's Dockerfile."""
    values = re.findall(rf"^{instruction}\s+(.+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert values, f"no {instruction} in the Dockerfile"
    return values[-1].strip()


def test_the_manifests_are_the_expected_objects() -> None:
    assert set(by_kind()) == {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(offline: None, path: Path, version: str) -> None:
    """Every object has a schema in this Kubernetes version (an unknown kind or apiVersion raises) and
    passes it strictly."""
    for doc in documents(path):
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize(
    "breakage",
    [
        "a misspelt field",
        "a port that is not a number",
        "no spec",
    ],
)
def test_the_validator_rejects_a_broken_deployment(offline: None, breakage: str) -> None:
    """The check above can fail: the same Deployment with one mistake does not pass."""
    broken = copy.deepcopy(by_kind()["Deployment"])
    c = container(broken)
    if breakage == "a misspelt field":
        c["readynessProbe"] = c.pop("readinessProbe")
    elif breakage == "a port that is not a number":
        c["ports"][0]["containerPort"] = "eight thousand"
    else:
        del broken["spec"]
    with pytest.raises(ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_the_kustomization_applies_every_manifest_but_the_optional_ingress() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in manifest_files()} - {"ingress.yaml"}
    assert [i["name"] for i in kustomization["images"]] == [container(by_kind()["Deployment"])["image"].split(":")[0]]


def test_the_objects_find_each_other() -> None:
    """Selectors match the pod labels, the Service and the Ingress reach the container's named port,
    the autoscaler scales this Deployment, and that port is the one the image listens on."""
    objects = by_kind()
    deployment, service, ingress = objects["Deployment"], objects["Service"], objects["Ingress"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (
        deployment["spec"]["selector"]["matchLabels"],
        service["spec"]["selector"],
        objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= pod_labels.items()
    ports = {p["name"]: p["containerPort"] for p in container(deployment)["ports"]}
    assert ports == {"http": int(dockerfile_value("EXPOSE"))}
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] in ports
    target = objects["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    backends = [p["backend"]["service"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert backends and all(b["name"] == service["metadata"]["name"] for b in backends)
    assert all(b["port"]["name"] == service_port["name"] for b in backends)


def test_the_probes_ask_the_health_route_on_the_app_port() -> None:
    from app.main import create_app

    paths = create_app().openapi()["paths"]
    c = container(by_kind()["Deployment"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        check = c[probe]["httpGet"]
        assert check["path"] == "/healthz" and check["path"] in paths, probe
        assert check["port"] == "http", probe


def test_the_pods_run_locked_down_as_the_image_user_within_set_resources() -> None:
    deployment = by_kind()["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    c = container(deployment)
    uid, gid = dockerfile_value("USER").split(":")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (int(uid), int(gid))
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    # the one writable place is /tmp, a volume of the pod's own
    (mount,) = c["volumeMounts"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mount["mountPath"] == "/tmp" and "emptyDir" in volumes[mount["name"]]
    resources = c["resources"]
    for kind in ("cpu", "memory"):
        assert kind in resources["requests"] and kind in resources["limits"], kind
    # one process per pod: torch's threads follow the CPU limit unless the environment fixes them
    assert "CONVLENS_TORCH_THREADS" not in {e["name"] for e in c.get("env", [])}
    assert "WORKERS" not in {e["name"] for e in c.get("env", [])}


def test_the_autoscaler_follows_cpu_relative_to_the_request() -> None:
    objects = by_kind()
    hpa = objects["HorizontalPodAutoscaler"]["spec"]
    (metric,) = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"
    assert 1 <= hpa["minReplicas"] < hpa["maxReplicas"]
    assert "replicas" not in objects["Deployment"]["spec"], "the autoscaler owns the replica count"
