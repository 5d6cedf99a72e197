#!/usr/bin/env bash
# Installs what the tests need beyond Rust: a real redis-server (Debian's package) for the
# groupwait-redis tests, which start their own server on a free loopback port, and the
# openssl command, with which the TLS test makes its certificates. Idempotent: installs only
# what is not on PATH, and nothing if both are. Leaves no server of its own running, and never
# stops one it did not start: a redis-server already installed (perhaps the user's, running)
# is not touched. scripts/test-install-test-deps.sh checks this with stub commands.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
# Installing the redis-server package may start its system service, which the tests do not
# use: that server is this script's doing, so it is stopped. Only then: when redis-server was
# already there, whatever runs is someone else's.
if [[ " ${missing[*]} " == *" redis-server "* ]]; then
  $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
command -v redis-server >/dev/null && command -v openssl >/dev/null
