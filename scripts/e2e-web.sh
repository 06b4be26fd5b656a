#!/usr/bin/env bash
# The page's browser test (e2e/browser.test.mjs) against the REAL daemon:
# a fresh state directory, the one-time setup code read from the daemon's
# log, then setup → login → register 김민수 from a photo → the second page
# sees it without reload → delete there → gone in the first.
# Prints "SKIP: ..." and exits 0 only when chromium or Node.js is absent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
skip() { echo "SKIP: e2e-web: $*"; exit 0; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || skip "chromium not installed (apt-get install chromium)"
command -v node >/dev/null || skip "Node.js not installed (it drives the browser)"
tmp="$(mktemp -d /tmp/facegate-e2e-web.XXXXXX)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
(cd "$root" && go build -o "$tmp/facegate" ./cmd/facegate)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/facegate.yaml" <<EOC
state_dir: $tmp/state
http:
  listen: "127.0.0.1:$port"
EOC
# Only this test's settings reach the daemon.
env -u FACEGATE_ADMIN_PASSWORD -u FACEGATE_ADMIN_PASSWORD_FILE "$tmp/facegate" serve --config "$tmp/facegate.yaml" >"$tmp/daemon.log" 2>&1 &
pid=$!
code=""
for _ in $(seq 1 300); do
  code=$(sed -n 's/.*setup_code=\([^ ]*\).*/\1/p' "$tmp/daemon.log" | head -1)
  [ -n "$code" ] && curl -sk -o /dev/null "https://127.0.0.1:$port/healthz" && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/daemon.log"; echo "e2e-web: the daemon exited" >&2; exit 1; }
  sleep 0.2
done
[ -n "$code" ] || { cat "$tmp/daemon.log"; echo "e2e-web: no setup code in the log" >&2; exit 1; }
set +e
FACEGATE_URL="https://127.0.0.1:$port" FACEGATE_SETUP_CODE="$code" FACEGATE_ADMIN_PASSWORD=e2e-web-password-1 \
  "$root/e2e/run.sh"
rc=$?
set -e
[ $rc -eq 0 ] || tail -30 "$tmp/daemon.log"
exit $rc
