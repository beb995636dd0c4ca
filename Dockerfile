# ConvLens: the web app and REST API, CPU only, with the trained weights and the MNIST test set inside
# (it runs with no network).
#   docker build -t convlens . && docker run --rm -p 8000:8000 convlens
# Configuration by environment: PORT, WORKERS, LOG_LEVEL, HOST and the CONVLENS_* settings (README "Docker").

# Stage 1: the runtime requirements, read from pyproject.toml (the one list of dependencies). Only this
# small file reaches the final stage, so editing pyproject.toml elsewhere (version, dev tools) keeps the
# dependency layer cached as long as [project].dependencies is unchanged.
FROM python:3.11-slim AS requirements
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print(*deps, sep='\n')" > requirements.txt

# Stage 2: the image.
FROM python:3.11-slim

# CPU-only torch: the PyTorch CPU index offers torch==2.13.0 as 2.13.0+cpu, which pip prefers to PyPI's
# CUDA build (and so never pulls the nvidia-* wheels). pip reads both from the environment; a build on a
# machine with a local wheel folder passes --build-arg PIP_FIND_LINKS=... and an empty index.
ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PIP_FIND_LINKS=

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The dependency layer, before any code, so a code-only change rebuilds in seconds. In the same layer,
# drop what a CPU inference server never loads: C++ headers, CMake files, C++ test binaries and test
# libraries, protoc, and the test suites of numpy/sympy/networkx (230 MB: docs/benchmarks.md).
COPY --from=requirements /src/requirements.txt /tmp/requirements.txt
COPY constraints.txt /tmp/constraints.txt
RUN python -m pip install --no-cache-dir --requirement /tmp/requirements.txt --constraint /tmp/constraints.txt \
 && site="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && rm -rf /tmp/requirements.txt /tmp/constraints.txt \
        "$site/torch/include" "$site/torch/share" "$site/torch/test" \
        "$site"/torch/bin/test_* "$site"/torch/bin/*Test "$site"/torch/bin/protoc* \
        "$site"/torch/lib/lib*_test.so \
        "$site"/numpy/tests "$site"/numpy/*/tests "$site"/numpy/*/*/tests \
 && find "$site/sympy" "$site/networkx" -type d -name tests -prune -exec rm -rf {} + \
 && python -c "import torch, numpy, fastapi, uvicorn; torch.nn.functional.conv2d(torch.ones(1, 1, 5, 5), torch.ones(1, 1, 3, 3))"

# A non-root user that owns nothing in the image: the app only reads its code, weights and data.
# /app/models/extra is where imported models are mounted (`-v $PWD/mymodels:/app/models/extra`, README
# "Bring your own model"): served beside the bundled ones; empty when nothing is mounted.
RUN groupadd --system --gid 10001 convlens \
 && useradd --system --no-log-init --create-home --uid 10001 --gid 10001 convlens \
 && mkdir -p /app/models/extra

WORKDIR /app
# Least often changed first: the trained weights and the sample data, then the pages, then the code.
COPY models/ models/
COPY data/ data/
COPY templates/ templates/
COPY static/ static/
COPY app/ app/
# The interface's message catalogs, compiled (app/i18n/catalogs.py): messages.mo for the server, static/i18n/ for the pages.
RUN python -m app i18n compile

USER 10001:10001

ENV HOST=0.0.0.0 \
    PORT=8000 \
    WORKERS=1 \
    LOG_LEVEL=info \
    CONVLENS_MODEL_DIR=/app/models/extra

EXPOSE 8000

# python:slim has no curl; http.client does the request (exit 1 on refusal, a timeout or a non-200).
# Every 2 s so that `healthy` follows the start closely (Docker < 25 has no --start-interval).
HEALTHCHECK --interval=2s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import http.client as h, os; c = h.HTTPConnection('127.0.0.1', int(os.environ.get('PORT', '8000')), timeout=2); c.request('GET', '/healthz'); raise SystemExit(c.getresponse().status != 200)"]

# Exec form: python (uvicorn) is PID 1 and receives SIGTERM itself, so `docker stop` shuts it down cleanly.
ENTRYPOINT ["python", "-m", "app"]
CMD ["serve"]
