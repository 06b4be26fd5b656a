#!/usr/bin/env bash
# Runs every fuzz target of the module briefly (FUZZTIME each, default 10s):
# the corpus seeds plus fresh inputs. The TFLite parser, which reads files
# from outside, gets longer (FUZZTIME_MODEL, default 30s).
#
# Go 1.26's fuzz coordinator can end a duration-limited run with a bare
# "context deadline exceeded" and no failing input (golang/go#75804, fixed
# in Go 1.27). Such a run counts as passed only when no reproducer was
# written and the target's corpus then replays cleanly; any written input
# or other failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-10s}
tm=${FUZZTIME_MODEL:-30s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
count() { if [ -d "$1" ]; then ls "$1" | wc -l; else echo 0; fi; }
n=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    d=$t
    [ "$pkg" = facegate/models/tflite ] && d=$tm
    echo "fuzz: $pkg $f ($d)"
    corpus="$dir/testdata/fuzz/$f"
    before=$(count "$corpus")
    if ! go test -run '^$' -fuzz "^$f\$" -fuzztime "$d" "$pkg" >"$log" 2>&1; then
      after=$(count "$corpus")
      if [ "$after" = "$before" ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input' "$log"; then
        echo "fuzz: $f ended on Go's fuzztime race (golang/go#75804), no input written; replaying its corpus"
        go test -run "^$f\$" "$pkg" >"$log" 2>&1 || { cat "$log"; exit 1; }
      else
        cat "$log"
        exit 1
      fi
    fi
    n=$((n+1))
  done
done
echo "fuzz: $n targets, no failure"
