#!/usr/bin/env bash
# What the test suite needs besides node_modules: Redis (127.0.0.1:6379), NATS with JetStream
# (127.0.0.1:4222) and Debian's Chromium (/usr/bin/chromium, never a downloaded browser).
# Each is started or installed only when absent, so on a machine that has them this is a no-op.
# `npm test` runs it first (pretest) and `.ci/run` relies on that. Installing needs root and
# Debian's packages; without them it stops at once, naming the command that would do it.
set -euo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_up() { for _ in $(seq 1 100); do up "$1" && return 0; sleep 0.1; done; echo "test-services: nothing answers on 127.0.0.1:$1" >&2; exit 1; }

apt_updated=0
install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "test-services: $1 is missing; install it as root with: apt-get update && apt-get install -y $1" >&2
    exit 1
  fi
  echo "test-services: installing Debian's $1"
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

if ! up 6379; then
  command -v redis-server >/dev/null || install redis-server
  echo "test-services: starting redis-server on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_up 6379
fi

if ! up 4222; then
  [ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null || install nats-server
  nats="$(command -v nats-server || echo /usr/sbin/nats-server)"
  echo "test-services: starting nats-server on 127.0.0.1:4222"
  mkdir -p /var/lib/nats-server 2>/dev/null || true
  if command -v start-stop-daemon >/dev/null; then
    start-stop-daemon --start --oknodo --background --exec "$nats" -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  else
    nohup "$nats" -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server >/dev/null 2>&1 &
  fi
  wait_up 4222
fi

if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  install chromium
fi
