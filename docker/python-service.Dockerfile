# syntax=docker/dockerfile:1.7
# One image recipe for every Python member of the workspace (the services and the Celery
# workers), selected with the build argument PACKAGE:
#
#   docker build -f docker/python-service.Dockerfile --build-arg PACKAGE=catalog -t mercato-catalog .
#
# An HTTP service's image runs `python -m mercato_shared.serve`, configured by environment:
# MERCATO_SERVICE (set here from PACKAGE), PORT (set by compose or Kubernetes, from stack.toml),
# HOST and SERVICE_WORKERS (optional). The workers' images get their command from compose.
#
# The build context is the repository root (the uv workspace). The image keeps the source
# layout, /app/services/<name>/{src,migrations} and /app/shared/src, because the members are
# installed editable and each `<name>.migrate` finds its Alembic scripts next to its package.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.8

# uv is only needed to build the virtual environment; the runtime image never sees it.
FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
# --frozen installs exactly uv.lock; bytecode is compiled once here instead of at each start.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

ARG PACKAGE
RUN test -n "${PACKAGE}" || { echo "build argument PACKAGE is required" >&2; exit 1; }

# 1. Third-party dependencies only: this layer depends on nothing but the lockfile and the
#    workspace root, so editing code never reinstalls them.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-workspace --package "${PACKAGE}"

# 2. The workspace members (tests and caches are excluded by .dockerignore), then the
#    package itself and the members it depends on, installed editable.
COPY pyproject.toml uv.lock ./
COPY shared/ shared/
COPY shop/ shop/
COPY services/ services/
COPY workers/ workers/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "${PACKAGE}"

# 3. Keep only what the package needs: the environment and the members it installed
#    (`uv export` lists workspace members as `-e ./<path>`), their bytecode compiled in place.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN uv export --frozen --no-dev --package "${PACKAGE}" --no-hashes --format requirements.txt \
        | sed -n 's|^-e \./||p' > /tmp/members \
    && test -s /tmp/members \
    && xargs -a /tmp/members -I{} /app/.venv/bin/python -m compileall -q {}/src \
    && mkdir /out \
    && xargs -a /tmp/members cp -a --parents -t /out .venv

FROM ${PYTHON_IMAGE} AS runtime
ARG PACKAGE

# A fixed, unprivileged uid that owns nothing in the image: the code is read-only to it.
RUN groupadd --system --gid 10001 mercato \
    && useradd --system --no-log-init --uid 10001 --gid mercato --home-dir /app \
        --shell /usr/sbin/nologin mercato

COPY --from=builder /out/ /app/

ENV PATH=/app/.venv/bin:${PATH} \
    VIRTUAL_ENV=/app/.venv \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MERCATO_SERVICE=${PACKAGE}

WORKDIR /app
USER 10001:10001

# Liveness of an HTTP service; slim has no curl, so Python's urllib does the request (a
# non-2xx answer raises, and the exit status is 1). Compose replaces it for the workers.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['PORT'], timeout=2)"]

# The service as every runtime runs it (mercato_shared.serve holds uvicorn's settings).
CMD ["python", "-m", "mercato_shared.serve"]
