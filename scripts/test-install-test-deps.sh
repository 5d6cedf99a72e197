#!/usr/bin/env bash
# Tests scripts/install-test-deps.sh without installing anything: each case runs it with a
# PATH of stub commands (apt-get, service, sudo and id, plus redis-server and openssl when the
# case has them) that record their calls, and checks what it asked for. The case that matters
# most starts a real redis-server, the user's, and checks that the script leaves it running
# when it has openssl to install. Needs redis-server and redis-cli (installed by the script
# itself, for real, in CI). Every wait is bounded; ends with "N passed, N failed".
#
#   bash scripts/test-install-test-deps.sh
set -uo pipefail
cd "$(dirname "$0")/.."
script=$PWD/scripts/install-test-deps.sh
bash_bin=$(command -v bash)
real_redis=$(command -v redis-server) || { echo "redis-server is needed (scripts/install-test-deps.sh)" >&2; exit 1; }
real_cli=$(command -v redis-cli) || { echo "redis-cli is needed (scripts/install-test-deps.sh)" >&2; exit 1; }
real_id=$(command -v id)
timeout_bin=$(command -v timeout)
sleep_bin=$(command -v sleep)
work=$(mktemp -d)
user_server=
cleanup() {
  if [ -n "$user_server" ]; then kill "$user_server" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
fail() {
  printf 'FAILED %s: %s\n' "$case_name" "$*"
  case_ok=false
}

# A fresh stub directory for one case: $stubs/bin is the whole PATH, $stubs/calls the log.
# apt-get "installs" a package by putting a stub of its command in bin/ (no file outside
# $stubs is ever written).
new_stubs() {
  stubs=$work/$1
  mkdir -p "$stubs/bin"
  : >"$stubs/calls"
  cat >"$stubs/bin/apt-get" <<EOF
#!$bash_bin
echo "apt-get \$*" >>"$stubs/calls"
if [ "\$1" = install ]; then
  for arg in "\$@"; do
    case "\$arg" in
      redis-server|openssl)
        # Never written through: a command already there stays as it is.
        if [ ! -e "$stubs/bin/\$arg" ]; then
          printf '#!$bash_bin\n' >"$stubs/bin/\$arg"
          /bin/chmod +x "$stubs/bin/\$arg"
        fi ;;
    esac
  done
fi
EOF
  # `service redis-server stop` stops the system's server: here, the user's server if the
  # case started one (its pid in $stubs/service-pid).
  cat >"$stubs/bin/service" <<EOF
#!$bash_bin
echo "service \$*" >>"$stubs/calls"
if [ "\$*" = "redis-server stop" ] && [ -s "$stubs/service-pid" ]; then
  pid=\$(<"$stubs/service-pid")
  kill "\$pid"
  # As the real one does, return once the server is gone (10 s at most).
  for _ in \$(/usr/bin/seq 200); do
    kill -0 "\$pid" 2>/dev/null || break
    $sleep_bin 0.05
  done
fi
EOF
  cat >"$stubs/bin/sudo" <<EOF
#!$bash_bin
echo "sudo \$*" >>"$stubs/calls"
"\$@"
EOF
  /bin/chmod +x "$stubs/bin/apt-get" "$stubs/bin/service" "$stubs/bin/sudo"
  ln -s "$real_id" "$stubs/bin/id"
}

run_script() {
  PATH="$stubs/bin" "$timeout_bin" 60 "$bash_bin" "$script" >"$stubs/out" 2>&1
}

finish_case() {
  if $case_ok; then
    passed=$((passed + 1))
    printf 'ok %s\n' "$case_name"
  else
    failed=$((failed + 1))
    sed 's/^/    call: /' "$stubs/calls"
    sed 's/^/    output: /' "$stubs/out"
  fi
}

case_name="user_server_keeps_running_when_openssl_is_installed"
case_ok=true
new_stubs user-server
printf '#!%s\nexec %q "$@"\n' "$bash_bin" "$real_redis" >"$stubs/bin/redis-server"
/bin/chmod +x "$stubs/bin/redis-server"
socket=$stubs/redis.sock
"$real_redis" --port 0 --unixsocket "$socket" --save '' --appendonly no --dir "$stubs" \
  >"$stubs/server.log" 2>&1 &
user_server=$!
echo "$user_server" >"$stubs/service-pid"
for _ in $(seq 200); do
  [ "$("$real_cli" -s "$socket" ping 2>/dev/null)" = PONG ] && break
  sleep 0.05
done
if [ "$("$real_cli" -s "$socket" ping 2>/dev/null)" != PONG ]; then
  fail "the user's redis-server did not start within 10 s: $(cat "$stubs/server.log")"
else
  run_script || fail "the script failed (status $?)"
  grep -q 'service redis-server stop' "$stubs/calls" && fail "it stopped the user's redis-server"
  grep -q '^apt-get install.* openssl' "$stubs/calls" || fail "it did not install openssl"
  grep -q '^apt-get install.*redis-server' "$stubs/calls" && fail "it reinstalled redis-server"
  kill -0 "$user_server" 2>/dev/null || fail "the user's redis-server is gone"
  [ "$(timeout 10 "$real_cli" -s "$socket" ping 2>/dev/null)" = PONG ] ||
    fail "the user's redis-server does not answer PING"
fi
kill "$user_server" 2>/dev/null
wait "$user_server" 2>/dev/null
user_server=
finish_case

case_name="installed_server_is_stopped"
case_ok=true
new_stubs nothing
run_script || fail "the script failed (status $?)"
grep -q '^apt-get install.* redis-server openssl' "$stubs/calls" || fail "it did not install both"
grep -q '^service redis-server stop' "$stubs/calls" || fail "it left the server it installed running"
finish_case

case_name="only_redis_missing_installs_and_stops_it"
case_ok=true
new_stubs no-redis
printf '#!%s\n' "$bash_bin" >"$stubs/bin/openssl"
/bin/chmod +x "$stubs/bin/openssl"
run_script || fail "the script failed (status $?)"
grep -q '^apt-get install.* redis-server' "$stubs/calls" || fail "it did not install redis-server"
grep -q '^apt-get install.*openssl' "$stubs/calls" && fail "it reinstalled openssl"
grep -q '^service redis-server stop' "$stubs/calls" || fail "it left the server it installed running"
finish_case

case_name="nothing_missing_calls_nothing"
case_ok=true
new_stubs both-present
for command in redis-server openssl; do
  printf '#!%s\n' "$bash_bin" >"$stubs/bin/$command"
  /bin/chmod +x "$stubs/bin/$command"
done
run_script || fail "the script failed (status $?)"
[ -s "$stubs/calls" ] && fail "it ran commands with nothing to install"
finish_case

printf 'install-test-deps: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
