#!/usr/bin/env bash
# The hash_tree demo's modes side by side (issue 21, part 2): the default pool of workers
# against the task group modes (`--limit N`, `--fail-fast`), rounds alternating, medians.
#
#   scripts/hash-tree-modes.sh [TREE] [ROUNDS] [EXTRA_BINARY]
#   scripts/hash-tree-modes.sh /usr/share 9 target/base-build/release/examples/hash_tree
#
# Builds the example (release), warms the page cache with one default run, then runs ROUNDS
# (default 9) rounds of: default, `--limit 4 --fail-fast`, `--limit 2`, `--limit 64`, and,
# if EXTRA_BINARY is given (another build of the demo, e.g. the commit before a change), its
# default and `--limit 4 --fail-fast` modes. Prints each mode's median hashing time (the
# demo's "time:" line, which excludes the walk) and its ratio to the default mode, with the
# load average before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-/usr/share}
rounds=${2:-9}
extra=${3:-}
cargo build --release -q -p examples --example hash_tree
bin=target/release/examples/hash_tree
declare -a names=("default" "--limit 4 --fail-fast" "--limit 2" "--limit 64")
declare -a cmds=("$bin" "$bin --limit 4 --fail-fast" "$bin --limit 2" "$bin --limit 64")
if [ -n "$extra" ]; then
  names+=("other build: default" "other build: --limit 4 --fail-fast")
  cmds+=("$extra" "$extra --limit 4 --fail-fast")
fi
ms() { # the hashing time of one run, in ms
  $1 "$tree" 2>/dev/null | sed -n 's/^time: *\([0-9.]*\)\(m\?s\).*/\1 \2/p' |
    awk '{ print ($2 == "s") ? $1 * 1000 : $1 }'
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
$bin "$tree" >/dev/null 2>&1 || true # page cache
declare -A samples
for _ in $(seq "$rounds"); do
  for i in "${!cmds[@]}"; do
    samples[$i]+="$(ms "${cmds[$i]}") "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
base=$(echo "${samples[0]}" | median)
printf '| mode | median ms (%s rounds) | ratio to default |\n|---|---:|---:|\n' "$rounds"
for i in "${!cmds[@]}"; do
  m=$(echo "${samples[$i]}" | median)
  printf '| %s | %.0f | %.2f |\n' "${names[$i]}" "$m" "$(echo "$m / $base" | bc -l)"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
