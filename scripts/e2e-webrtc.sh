#!/usr/bin/env bash
# End-to-end WebRTC test of the real daemon in headless Debian chromium
# (e2e/webrtc.test.mjs): a page sends its fake camera and gets names back,
# registers a second person from the live camera, and plays the device
# camera's live view. Everything runs in a private network namespace with
# only loopback, so no packet can leave the machine.
#
#   scripts/e2e-webrtc.sh
#
# Prints "SKIP: ..." and exits 0 only when chromium, Node.js or the test
# clips are absent; any failure exits non-zero with screenshots in
# test-artifacts/ (FACEGATE_E2E_SHOTS=1 keeps them on success too).
# FACEGATE_TESTDATA overrides ../shared/testdata; CHROMIUM /usr/bin/chromium.
# Figures (result latency, daemon CPU) are printed, never asserted.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

if [ "${FACEGATE_E2E_INSIDE:-}" != 1 ]; then
  skip() { echo "SKIP: e2e-webrtc: $*"; exit 0; }
  export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
  # Absolute and without "..": chromium's fake capture refuses such paths.
  FACEGATE_TESTDATA="$(realpath -m "${FACEGATE_TESTDATA:-$root/../shared/testdata}")"
  export FACEGATE_TESTDATA
  [ -x "$CHROMIUM" ] || skip "$CHROMIUM not installed (apt-get install chromium)"
  command -v node >/dev/null && command -v npm >/dev/null || skip "Node.js not installed (it drives the browser)"
  for c in unshare ip curl; do
    command -v "$c" >/dev/null || { echo "e2e-webrtc: $c not installed" >&2; exit 1; }
  done
  for f in video/mark_zuckerberg_640x480_15fps_2s.y4m video/scarlett_johansson_320x240_15fps_5s.y4m \
    video/scarlett_johansson_640x480_15fps_5s.mjpeg faces/Mark_Zuckerberg/2.jpg; do
    [ -f "$FACEGATE_TESTDATA/$f" ] || skip "test clip $FACEGATE_TESTDATA/$f is missing"
  done
  if [ ! -d "$root/e2e/node_modules/playwright-core" ]; then
    # Exact versions from package-lock.json; no browser download.
    (cd "$root/e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
  tmp="$(mktemp -d /tmp/facegate-e2e-webrtc.XXXXXX)"
  trap 'rm -rf "$tmp"' EXIT
  echo "e2e-webrtc: building facegate"
  (cd "$root" && go build -o "$tmp/facegate" ./cmd/facegate)
  # Inside a new network namespace only loopback exists (brought up below).
  if [ "$(id -u)" = 0 ]; then
    ns=(unshare --net)
  else
    ns=(unshare --map-root-user --net)
  fi
  if ! "${ns[@]}" true; then
    echo "e2e-webrtc: cannot create a network namespace (${ns[*]}): run as root or allow user namespaces" >&2
    exit 1
  fi
  set +e
  FACEGATE_E2E_INSIDE=1 FACEGATE_E2E_TMP="$tmp" "${ns[@]}" bash "${BASH_SOURCE[0]}"
  rc=$?
  set -e
  exit "$rc"
fi

# ---- inside the namespace ----
tmp="$FACEGATE_E2E_TMP"
td="$FACEGATE_TESTDATA"
ip link set lo up
if ip -o link show | grep -qv ': lo:'; then
  echo "e2e-webrtc: the namespace has interfaces other than loopback" >&2
  exit 1
fi

artifacts="${FACEGATE_ARTIFACTS:-$root/test-artifacts}"
shots="${FACEGATE_E2E_SHOTS:-}"
# Only this test's settings reach the daemon (config keys can come from
# FACEGATE_* variables).
while IFS='=' read -r k _; do
  case "$k" in FACEGATE_*) unset "$k" ;; esac
done < <(env)
export FACEGATE_ADMIN_PASSWORD=e2e-webrtc-password-1
export FACEGATE_ARTIFACTS="$artifacts" FACEGATE_E2E_SHOTS="$shots"
port=8443
cat >"$tmp/facegate.yaml" <<EOF
state_dir: $tmp/state
http:
  listen: 127.0.0.1:$port
cameras:
  - name: door
    source: $td/video/scarlett_johansson_640x480_15fps_5s.mjpeg
    width: 640
    height: 480
    fps: 15
    loop: true
webrtc:
  max_peers: 8
  include_loopback: true
EOF

enrolled="Mark Zuckerberg"
# From a still other than the one the clip was made from.
"$tmp/facegate" enroll --state-dir "$tmp/state" --name "$enrolled" "$td/faces/Mark_Zuckerberg/2.jpg"

PION_LOG_WARN=all "$tmp/facegate" serve --config "$tmp/facegate.yaml" >"$tmp/daemon.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
trap cleanup EXIT

up=0
for _ in $(seq 150); do
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  if curl -ksf -o /dev/null "https://127.0.0.1:$port/login"; then up=1; break; fi
  sleep 0.2
done
if [ "$up" != 1 ]; then
  echo "e2e-webrtc: the daemon did not come up; its log:" >&2
  cat "$tmp/daemon.log" >&2
  exit 1
fi

set +e
FACEGATE_URL="https://127.0.0.1:$port" FACEGATE_PID="$pid" CLK_TCK="$(getconf CLK_TCK)" \
  FACEGATE_E2E_CLIP_A="$td/video/mark_zuckerberg_640x480_15fps_2s.y4m" \
  FACEGATE_E2E_CLIP_B="$td/video/scarlett_johansson_320x240_15fps_5s.y4m" \
  FACEGATE_E2E_ENROLLED="$enrolled" \
  timeout 150 node "$root/e2e/webrtc.test.mjs"
rc=$?
set -e
if [ "$rc" != 0 ]; then
  mkdir -p "$FACEGATE_ARTIFACTS"
  cp "$tmp/daemon.log" "$FACEGATE_ARTIFACTS/webrtc-daemon.log"
  echo "e2e-webrtc: FAILED (rc $rc); daemon log in $FACEGATE_ARTIFACTS/webrtc-daemon.log, last lines:" >&2
  tail -n 30 "$tmp/daemon.log" >&2
fi
exit "$rc"
