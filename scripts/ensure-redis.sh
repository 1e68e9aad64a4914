#!/usr/bin/env bash
# Makes sure redis-server and redis-cli (Debian's redis-server and redis-tools
# packages) are on PATH. Installs them with apt-get when running as root;
# otherwise prints one line saying what to install and fails.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-redis: installing redis-server and redis-tools with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq redis-server redis-tools >/dev/null
  # The package may start a system-wide server; clusterbench never uses it.
  if command -v service >/dev/null 2>&1; then service redis-server stop >/dev/null 2>&1 || true; fi
  command -v redis-server >/dev/null 2>&1 && exit 0
fi
echo "ensure-redis: redis-server is missing: install it with 'sudo apt-get install -y redis-server redis-tools' (Redis >= 7.0)" >&2
exit 1
