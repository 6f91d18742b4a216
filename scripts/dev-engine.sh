#!/usr/bin/env bash
# Make sure a real Docker engine answers, and that the offline test base image exists.
#
#   scripts/dev-engine.sh          # install (if needed) + start dockerd + build dockui-test/busybox
#   scripts/dev-engine.sh --stop   # stop the dockerd this script started
#
# Nothing can be pulled from a registry here, so the base image is built FROM scratch
# with Debian's static busybox. Exits non-zero when no engine can be made to answer:
# CI must fail loudly rather than skip the engine tests.
set -euo pipefail

BASE_IMAGE="${DOCKUI_TEST_BASE:-dockui-test/busybox:latest}"
LOG="${DOCKUI_DOCKERD_LOG:-/tmp/dockui-dockerd.log}"
PIDFILE=/tmp/dockui-dockerd.pid
# The docker CLI first on PATH may be newer than the engine accepts; Debian's matches it.
DOCKER_BIN=/usr/bin/docker
[ -x "$DOCKER_BIN" ] || DOCKER_BIN=$(command -v docker || true)

say() { printf 'dev-engine: %s\n' "$*" >&2; }

if [ "${1:-}" = "--stop" ]; then
  if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; rm -f "$PIDFILE"; fi
  exit 0
fi

engine_answers() {
  [ -n "$DOCKER_BIN" ] && DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}" \
    timeout 5 "$DOCKER_BIN" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! engine_answers; then
  if [ ! -x /usr/sbin/dockerd ] || [ ! -x /bin/busybox ] || ! command -v tmux >/dev/null; then
    say "installing Debian's docker.io, busybox-static and tmux (for the terminal tests)"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq docker.io busybox-static tmux >/dev/null
    DOCKER_BIN=/usr/bin/docker
  fi
  if [ -z "${DOCKER_HOST:-}" ] || [ "${DOCKER_HOST}" = "unix:///var/run/docker.sock" ]; then
    say "starting dockerd (log: $LOG)"
    # A stale pid/socket from a killed engine would stop a new one from starting.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
      $SUDO rm -f /var/run/docker.pid
    fi
    $SUDO bash -c "nohup /usr/sbin/dockerd >'$LOG' 2>&1 & echo \$! > '$PIDFILE'"
    for _ in $(seq 1 60); do
      engine_answers && break
      if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        say "dockerd exited; last lines of its log:"; tail -20 "$LOG" >&2; exit 1
      fi
      sleep 0.5
    done
  fi
fi

if ! engine_answers; then
  say "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset})"
  [ -f "$LOG" ] && tail -20 "$LOG" >&2
  exit 1
fi
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"
say "engine $("$DOCKER_BIN" version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

if ! "$DOCKER_BIN" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  [ -x /bin/busybox ] || { say "busybox-static is missing"; exit 1; }
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  cp /bin/busybox "$ctx/busybox"
  cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/sh"]
DOCKERFILE
  say "building $BASE_IMAGE"
  "$DOCKER_BIN" build -q --label dockui.test.base=1 -t "$BASE_IMAGE" "$ctx" >/dev/null
fi
say "ready: $BASE_IMAGE"
