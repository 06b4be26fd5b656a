#!/usr/bin/env bash
# Runs every fuzz target of the module briefly (FUZZTIME each, default 10s):
# the corpus seeds plus fresh inputs. The TFLite parser, which reads files
# from outside, gets longer (FUZZTIME_MODEL, default 30s).
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-10s}
tm=${FUZZTIME_MODEL:-30s}
n=0
for pkg in $(go list ./...); do
  for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    d=$t
    [ "$pkg" = facegate/models/tflite ] && d=$tm
    echo "fuzz: $pkg $f ($d)"
    go test -run '^$' -fuzz "^$f\$" -fuzztime "$d" "$pkg" >/tmp/facegate-fuzz.log 2>&1 || { cat /tmp/facegate-fuzz.log; exit 1; }
    n=$((n+1))
  done
done
echo "fuzz: $n targets, no failure"
