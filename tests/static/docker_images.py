"""What each pinned image of the Docker stack ships and needs, from the image's upstream sources.

No engine runs here, so a healthcheck that calls a binary its image lacks, or a memory limit
below the image's documented minimum, cannot be caught by running the stack. These facts are
read from each image's Dockerfile and documentation instead, one entry per pinned version: a
bumped tag (or a new image) has no entry until someone reads the new version's sources, which
is how an upgrade that drops a binary (Loki dropped busybox in 3.5.8) stops being a trap.

`executables`: what a healthcheck can run, by name when it is on the image's PATH, by absolute
path otherwise; `http_probe`: the one of them that can ask an HTTP endpoint, if any.
`memory_minimum_mb`: the documented minimum (decimal MB, as documented) with its source, for
an image whose upstream documentation states one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Image:
    executables: frozenset[str]
    # The executable that can send an HTTP request (a readiness probe), or None.
    http_probe: str | None
    executables_source: str
    memory_minimum_mb: int | None = None
    memory_source: str = ""


IMAGES: dict[str, Image] = {
    "postgres:16.10-alpine": Image(
        # Alpine's busybox (sh, grep) plus PostgreSQL built into /usr/local/bin.
        executables=frozenset({"sh", "grep", "pg_isready", "psql"}),
        http_probe=None,
        executables_source="https://github.com/docker-library/postgres/blob/master/16/alpine3.22/Dockerfile",
    ),
    "redis:7.4.5-alpine": Image(
        executables=frozenset({"sh", "grep", "redis-cli", "redis-server"}),
        http_probe=None,
        executables_source="https://github.com/docker-library/redis/blob/master/7.4/alpine/Dockerfile",
    ),
    "busybox:1.37.0": Image(
        executables=frozenset({"sh", "wc", "cp", "mv", "chown", "sleep", "wget"}),
        http_probe="wget",
        executables_source="https://github.com/docker-library/busybox (busybox's applets on PATH)",
    ),
    "grafana/tempo:2.9.2": Image(
        # gcr.io/distroless/static-debian12:debug: busybox with a link per applet (wget among
        # them) under /busybox (GoogleContainerTools/distroless experimental/busybox/commands.bzl).
        executables=frozenset({"/tempo", "/busybox/sh", "/busybox/wget"}),
        http_probe="/busybox/wget",
        executables_source="https://github.com/grafana/tempo/blob/v2.9.2/cmd/tempo/Dockerfile",
    ),
    "grafana/loki:3.7.6": Image(
        # gcr.io/distroless/static:nonroot with the loki binary alone; `loki -health`
        # (cmd/loki/health.go, since 3.6.5 and 3.7.0) is its healthcheck.
        executables=frozenset({"/usr/bin/loki"}),
        http_probe="/usr/bin/loki",
        executables_source="https://github.com/grafana/loki/blob/v3.7.6/cmd/loki/Dockerfile",
    ),
    "prom/prometheus:v3.5.0": Image(
        # quay.io/prometheus/busybox: busybox's sh and wget on PATH.
        executables=frozenset({"sh", "wget", "prometheus", "promtool"}),
        http_probe="wget",
        executables_source="https://github.com/prometheus/prometheus/blob/v3.5.0/Dockerfile",
    ),
    "otel/opentelemetry-collector-contrib:0.147.0": Image(
        # FROM scratch: the collector binary, CA certificates and a default config only.
        executables=frozenset({"/otelcol-contrib"}),
        http_probe=None,
        executables_source="https://github.com/open-telemetry/opentelemetry-collector-releases/blob/v0.147.0/"
        "distributions/otelcol-contrib/Dockerfile",
    ),
    "grafana/grafana:12.1.0": Image(
        # Alpine base plus `apk add ... bash curl`.
        executables=frozenset({"sh", "bash", "wget", "curl", "grafana"}),
        http_probe="wget",
        executables_source="https://github.com/grafana/grafana/blob/v12.1.0/Dockerfile",
        memory_minimum_mb=512,
        memory_source="https://grafana.com/docs/grafana/v12.1/setup-grafana/installation/ "
        "(Hardware recommendations: minimum recommended memory 512 MB)",
    ),
    # The bases of the images built here (the final stage of each Dockerfile).
    "nginxinc/nginx-unprivileged:1.27.5-alpine": Image(
        executables=frozenset({"sh", "wget", "nginx"}),
        http_probe="wget",
        executables_source="https://github.com/nginx/docker-nginx-unprivileged/blob/main/mainline/alpine/Dockerfile",
    ),
    "python:3.11.13-slim-bookworm": Image(
        # debian:bookworm-slim (dash as sh, bash, grep) plus CPython; the console scripts of
        # the member's locked dependencies come on top (/app/.venv/bin is on PATH).
        executables=frozenset({"sh", "bash", "grep", "python", "python3"}),
        http_probe="python",
        executables_source="https://github.com/docker-library/python/blob/master/3.11/slim-bookworm/Dockerfile",
    ),
}
