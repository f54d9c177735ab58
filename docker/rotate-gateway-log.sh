#!/bin/sh
# Keeps the gateway's access log file bounded (docker-compose.yml runs it beside the gateway,
# on the same volume; POSIX sh, so busybox runs it).
#
# nginx cannot rotate a file by size, and telling it to reopen the file (SIGUSR1) would need a
# shared pid namespace with the gateway. So this copies and truncates: once the log reaches
# ROTATE_MAX_BYTES it is copied to access.1.log (replacing the previous copy) and truncated in
# place. nginx opens its logs with O_APPEND, so its next line lands at the start of the
# truncated file. The collector's filelog receiver tails `access*.log`: the copy keeps the
# fingerprint it was reading, so it finishes what it had not read yet, and the truncated file
# starts a new one (copy/truncate within the pattern, fileconsumer's supported case B). The
# temporary name of the copy is outside that pattern, so nothing is read twice. Lines written
# between the copy and the truncation (a few milliseconds) are lost, as with logrotate's
# copytruncate.
#
# Disk used: at most 2 x (ROTATE_MAX_BYTES + what the gateway writes in ROTATE_EVERY_SECONDS).
#
#   rotate-gateway-log.sh           rotate whenever needed, checking every ROTATE_EVERY_SECONDS
#   rotate-gateway-log.sh --once    one check (and rotation if needed), then exit
#   rotate-gateway-log.sh --check   exit 1 when the log is past twice its bound (the healthcheck)
set -eu

log=${ROTATE_LOG:-/var/log/gateway/access.log}
max_bytes=${ROTATE_MAX_BYTES:-10485760}
every=${ROTATE_EVERY_SECONDS:-30}
rotated="${log%.log}.1.log"

size() {
  if [ -f "$1" ]; then wc -c <"$1"; else echo 0; fi
}

rotate_if_needed() {
  [ "$(size "$log")" -ge "$max_bytes" ] || return 0
  cp "$log" "$rotated.tmp"
  mv -f "$rotated.tmp" "$rotated"
  : >"$log"
}

case "${1:-}" in
  --check)
    [ "$(size "$log")" -lt $((2 * max_bytes)) ]
    ;;
  --once)
    rotate_if_needed
    ;;
  "")
    while :; do
      rotate_if_needed
      sleep "$every"
    done
    ;;
  *)
    echo "usage: $0 [--once | --check]" >&2
    exit 2
    ;;
esac
