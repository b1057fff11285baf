#!/usr/bin/env bash
# Container health check without curl or wget in the image: one HTTP/1.0 GET over bash's
# /dev/tcp, healthy only on a 200 status line. Used by compose (Kubernetes probes over HTTP
# itself). Usage: healthcheck [path] [port]; defaults /readyz and 8080.
set -eu
path="${1:-/readyz}"
port="${2:-8080}"
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$path" >&3
IFS= read -r -t 5 status <&3
exec 3<&-
case "$status" in
  "HTTP/1."?" 200 "*) exit 0 ;;
  *) echo "unhealthy: GET ${path} answered ${status:-nothing}" >&2; exit 1 ;;
esac
