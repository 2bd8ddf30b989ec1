# One image for every Gendan process; docker-compose.yml picks the process with `command`:
#   python -m services.<order|production|logistics|billing> [migrate]
#   python -m deploy.simulators
#
# How the code gets in. The code runs from the source tree copied to /app (WORKDIR and
# PYTHONPATH), not from site-packages: Alembic's script_location is each service's
# `Path(__file__).parent / "migrations"`, and the tree is exactly what was tested.
# The wheel would carry the migrations too (pyproject's packages.find defaults to
# namespaces = true, so the __init__-less migrations/ and versions/ folders are packaged,
# and package-data adds script.py.mako), but a second copy of the code would only
# raise the question of which one runs.
#
# `pip install .` runs on pyproject.toml ALONE, before any source is copied: the
# include patterns (shared*, services*, deploy*) then match nothing, so the result is
# the runtime dependencies (no dev extras) plus an empty `gendan` distribution. That
# layer is rebuilt only when pyproject.toml changes, not on every code edit.

# The console's browser libraries, installed from npm at build time (exact versions from the lock).
FROM node:20-slim AS console-assets
WORKDIR /assets
COPY services/order/console/package.json services/order/console/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
    && mkdir vendor \
    && cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx-ext-sse/dist/sse.min.js \
          node_modules/chart.js/dist/chart.umd.min.js vendor/

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY pyproject.toml ./
RUN pip install . \
    && rm -rf build gendan.egg-info

COPY shared/ shared/
COPY services/ services/
COPY deploy/ deploy/
COPY --from=console-assets /assets/vendor/ services/order/console/static/vendor/

# Fail the build, not the container, when a migrations folder is missing; precompile
# the bytecode as root (the code stays owned by root, read-only for the runtime user).
RUN set -eu; \
    for s in order production logistics billing; do \
        test -f "services/$s/migrations/env.py"; \
        test -f "services/$s/migrations/script.py.mako"; \
        ls services/$s/migrations/versions/*.py >/dev/null; \
    done; \
    python -m compileall -q shared services deploy

RUN groupadd --system --gid 10001 gendan \
    && useradd --system --uid 10001 --gid gendan --home-dir /app --no-create-home --shell /usr/sbin/nologin gendan
USER gendan

CMD ["python", "-c", "raise SystemExit('gendan image: run `python -m services.<order|production|logistics|billing> [migrate]` or `python -m deploy.simulators`')"]
