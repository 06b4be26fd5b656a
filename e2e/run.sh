#!/usr/bin/env bash
# Runs facegate's browser tests in headless Debian chromium (playwright-core).
#
# Target any running server:
#   FACEGATE_URL=https://127.0.0.1:8443   base URL (required)
#   FACEGATE_SETUP_CODE=XXXX-XXXX-XXXX    the logged setup code, on a fresh
#                                         device; empty: the admin exists
#   FACEGATE_ADMIN_PASSWORD=...           password to set, or to log in with
#                                         (default: e2e-password-1)
#   FACEGATE_TESTDATA=../shared/testdata  photos (default: ../shared/testdata
#                                         from the repository root)
#   FACEGATE_ARTIFACTS=test-artifacts     screenshots on failure
# internal/web's test server (real gallery service and models) runs it with:
#   go test -tags e2e -run TestBrowser ./internal/web/
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
: "${FACEGATE_URL:?set FACEGATE_URL to the base URL of the server}"
export FACEGATE_TESTDATA="${FACEGATE_TESTDATA:-$root/../shared/testdata}"
export FACEGATE_ARTIFACTS="${FACEGATE_ARTIFACTS:-$root/test-artifacts}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "e2e: $CHROMIUM not found (apt-get install chromium)" >&2
  exit 2
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  # Exact versions from package-lock.json; no browser download (we use
  # Debian's chromium).
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
exec node "$here/browser.test.mjs"
