#!/usr/bin/env bash
# Checks the systemd unit(s) in systemd/:
#   1. `systemd-analyze verify` prints nothing (it exits 0 even for unknown
#      keys or bad values, so any output is a failure);
#   2. `systemd-analyze security --offline=yes` rates the exposure at
#      MAX_EXPOSURE (2.0) or lower.
# verify needs ExecStart's binary to exist, so it runs against a throwaway
# root holding the host's units, the unit under test and a stub (or the
# built) /usr/bin/facegate.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
max=${MAX_EXPOSURE:-2.0}

if ! command -v systemd-analyze >/dev/null; then
  echo "unit-check: systemd-analyze not found (apt-get install systemd)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/usr/bin" "$tmp/usr/lib/systemd" "$tmp/etc/systemd/system"
ln -s usr/lib "$tmp/lib"
ln -s usr/bin "$tmp/bin" # merged /usr, as on Debian 12
cp -a /usr/lib/systemd/system "$tmp/usr/lib/systemd/"
# ExecReload sends SIGHUP with the host's kill.
cp /usr/bin/kill "$tmp/usr/bin/kill"
if [ -x "$root/bin/facegate" ]; then
  cp "$root/bin/facegate" "$tmp/usr/bin/facegate"
else
  printf '#!/bin/sh\nexit 0\n' >"$tmp/usr/bin/facegate"
  chmod 755 "$tmp/usr/bin/facegate"
fi

fail=0
for unit in "$root"/systemd/*.service; do
  name=$(basename "$unit")
  cp "$unit" "$tmp/etc/systemd/system/$name"
  # Example drop-ins (systemd/*.conf) are verified together with the unit.
  dropins=$(find "$root/systemd" -maxdepth 1 -name '*.conf' | sort)
  if [ -n "$dropins" ]; then
    mkdir -p "$tmp/etc/systemd/system/$name.d"
    # shellcheck disable=SC2086
    cp $dropins "$tmp/etc/systemd/system/$name.d/"
  fi
  out=$(systemd-analyze verify --root="$tmp" "/etc/systemd/system/$name" 2>&1) || true
  if [ -n "$out" ]; then
    echo "unit-check: FAIL $name: systemd-analyze verify is not clean:" >&2
    echo "$out" >&2
    fail=1
  else
    echo "unit-check: ok   $name: systemd-analyze verify clean"
  fi
  # Every [Service] directive is explained: a comment opens each group of
  # directive lines (a blank line ends a group).
  uncommented=$(awk '
    /^\[/ { sec = $0; ok = 0; next }
    /^[[:space:]]*$/ { ok = 0; next }
    /^[[:space:]]*#/ { ok = 1; next }
    sec == "[Service]" && !ok { print FILENAME ":" FNR ": " $0 }
  ' "$unit")
  if [ -n "$uncommented" ]; then
    echo "unit-check: FAIL $name: directives without a comment above their group:" >&2
    echo "$uncommented" >&2
    fail=1
  else
    echo "unit-check: ok   $name: every directive group is commented"
  fi
  sec=$(systemd-analyze security --offline=yes "$unit" 2>&1 || true)
  level=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' | tail -1)
  if [ -z "$level" ]; then
    echo "unit-check: FAIL $name: no exposure level in systemd-analyze security output:" >&2
    echo "$sec" >&2
    fail=1
  elif awk -v l="$level" -v m="$max" 'BEGIN { exit !(l > m) }'; then
    echo "unit-check: FAIL $name: exposure $level > $max" >&2
    printf '%s\n' "$sec" | grep '✗' >&2 || true
    fail=1
  else
    echo "unit-check: ok   $name: exposure $level <= $max"
  fi
done
exit $fail
