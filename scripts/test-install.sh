#!/usr/bin/env bash
# Tests scripts/install.sh into a staging DESTDIR: files in place, the unit's
# ExecStart follows PREFIX, an edited config survives a reinstall, and
# uninstall removes everything but the configuration.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
pass=0 fail=0
check() {
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "test-install: ok   $what"; pass=$((pass + 1)); else echo "test-install: FAIL $what" >&2; fail=$((fail + 1)); fi
}
bin=$dest/fake-facegate
printf '#!/bin/sh\necho facegate test\n' >"$bin"
chmod 755 "$bin"
run() { DESTDIR=$dest/root PREFIX=/opt/fg BIN=$bin "$root/scripts/install.sh" "$@" >/dev/null; }

run install
r=$dest/root
check "binary in PREFIX/bin" test -x "$r/opt/fg/bin/facegate"
check "unit in PREFIX/lib/systemd/system" test -f "$r/opt/fg/lib/systemd/system/facegate.service"
check "ExecStart follows PREFIX" grep -qx 'ExecStart=/opt/fg/bin/facegate serve --config /etc/facegate/config.yaml' "$r/opt/fg/lib/systemd/system/facegate.service"
check "sysusers entry" test -f "$r/opt/fg/lib/sysusers.d/facegate.conf"
check "config in /etc/facegate" cmp "$root/systemd/config.example.yaml" "$r/etc/facegate/config.yaml"
echo "# mine" >>"$r/etc/facegate/config.yaml"
run install
check "reinstall keeps an edited config" grep -q '# mine' "$r/etc/facegate/config.yaml"
run uninstall
check "uninstall removes the binary" test ! -e "$r/opt/fg/bin/facegate"
check "uninstall removes the unit" test ! -e "$r/opt/fg/lib/systemd/system/facegate.service"
check "uninstall removes the sysusers entry" test ! -e "$r/opt/fg/lib/sysusers.d/facegate.conf"
check "uninstall keeps the config" test -f "$r/etc/facegate/config.yaml"
check "missing binary is refused" sh -c "! DESTDIR='$dest/x' BIN='$dest/none' '$root/scripts/install.sh' install"
echo "test-install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
