#!/usr/bin/env bash
# Installs what the tests need beyond Rust: a real redis-server (Debian's package) for the
# groupwait-redis tests, which start their own server on a free loopback port, and the
# openssl command, with which the TLS test makes its certificates. Idempotent: does nothing
# if both are already on PATH. Does not leave a server running.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq redis-server openssl >/dev/null
# The package may start a system service; the tests start their own servers.
$SUDO service redis-server stop >/dev/null 2>&1 || true
command -v redis-server >/dev/null && command -v openssl >/dev/null
