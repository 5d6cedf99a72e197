#!/usr/bin/env bash
# Two builds of the `shapes` benchmark side by side, with Go's own WaitGroup benchmarks, in one
# run: for comparing a change of the write path (issue 13) against the commit before it.
#
#   scripts/ab-shapes.sh OLD_REV [PASSES] [FILTER...]
#   scripts/ab-shapes.sh fd94eb9 3 Uncontended AddDone
#
# Builds `cargo bench -p benches --bench shapes` at OLD_REV (in a temporary git worktree under
# target/ab-old) and at the working tree, then runs, PASSES times (default 3), in turn: the old
# binary, the new binary, and Go's `sync.test -test.bench 'WaitGroup(Uncontended|AddDone)$'
# -test.cpu 1,2` (Go from $GO, or the one scripts/bench.sh installs under
# ~/.cache/groupwait/go-venv; skipped if neither exists). Each Rust run is 9 samples per cell
# (`--reps 9`); the samples of all passes go to target/ab/{old,new}.tsv and Go's output to
# target/ab/go.txt, and the medians are printed at the end. Compare ratios within the run.
set -euo pipefail
cd "$(dirname "$0")/.."
old_rev=${1:?usage: scripts/ab-shapes.sh OLD_REV [PASSES] [FILTER...]}
passes=${2:-3}
shift $(( $# >= 2 ? 2 : 1 ))
filters=("$@")
[ ${#filters[@]} -eq 0 ] && filters=(Uncontended AddDone)

out=$PWD/target/ab
rm -rf "$out"
mkdir -p "$out"
bin_of() { # cargo's JSON messages -> the path of the shapes bench executable
  sed -n 's/.*"executable":"\([^"]*shapes[^"]*\)".*/\1/p' | tail -1
}

old_tree=$PWD/target/ab-old
git worktree remove --force "$old_tree" 2>/dev/null || true
git worktree add --detach "$old_tree" "$old_rev" >/dev/null
old_bin=$(cd "$old_tree" && CARGO_TARGET_DIR=$PWD/../ab-old-target cargo bench -p benches \
  --bench shapes --no-run --message-format=json 2>/dev/null | bin_of)
cp "$old_bin" "$out/shapes-old"
git worktree remove --force "$old_tree"
new_bin=$(cargo bench -p benches --bench shapes --no-run --message-format=json 2>/dev/null | bin_of)
cp "$new_bin" "$out/shapes-new"

go=${GO:-${XDG_CACHE_HOME:-$HOME/.cache}/groupwait/go-venv/bin/go}
if [ -x "$go" ]; then
  export GOCACHE=${XDG_CACHE_HOME:-$HOME/.cache}/groupwait/go-build GOTOOLCHAIN=local
  (cd "$out" && "$go" test -c -o "$out/sync.test" sync)
fi

for pass in $(seq "$passes"); do
  echo "pass $pass/$passes" >&2
  # cargo runs a bench in its package's folder; the binaries are run from there too.
  (cd benches && "$out/shapes-old" --reps 9 --out "$out/old.tsv" "${filters[@]}" >/dev/null)
  (cd benches && "$out/shapes-new" --reps 9 --out "$out/new.tsv" "${filters[@]}" >/dev/null)
  if [ -x "$out/sync.test" ]; then
    "$out/sync.test" -test.run '^$' -test.bench 'WaitGroup(Uncontended|AddDone)$' \
      -test.cpu 1,2 -test.count 7 -test.benchtime 20ms >> "$out/go.txt"
  fi
done

# Medians per build, shape, threads and implementation; Go's per benchmark and -cpu.
python3 - "$out" <<'PY'
import collections, os, statistics, sys
out = sys.argv[1]
rows = collections.defaultdict(list)
for build in ("old", "new"):
    for line in open(os.path.join(out, build + ".tsv")):
        section, cell, threads, imp, value = line.rstrip("\n").split("\t")
        rows[(cell, "T=" + threads, imp, build)].append(float(value))
go = os.path.join(out, "go.txt")
if os.path.exists(go):
    for line in open(go):
        if line.startswith("BenchmarkWaitGroup"):
            f = line.split()
            name, _, cpu = f[0][len("BenchmarkWaitGroup"):].partition("-")
            rows[(name, "T=" + (cpu or "1"), "Go", "go")].append(float(f[2]))
for key in sorted(rows):
    v = rows[key]
    print("\t".join(key), f"{statistics.median(v):.2f} ns", f"({len(v)} samples)", sep="\t")
PY
