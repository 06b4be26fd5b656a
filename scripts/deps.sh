#!/usr/bin/env bash
# Installs what facegate needs on Debian 12, only when it is missing.
#
#   scripts/deps.sh run    building and running the daemon: C libraries for
#                          cgo (OpenCV for the capture helper, libvpx for
#                          WebRTC, libjpeg-turbo for MJPEG cameras) and a
#                          Korean font for names on snapshots
#   scripts/deps.sh test   (default) all of that, plus mosquitto for the MQTT
#                          tests, chromium for the browser tests, qemu-user
#                          and the aarch64 cross compiler for the arm64 build
#                          and tests, mmdebstrap and dpkg-dev for the arm64
#                          sysroot and the .deb checks, GStreamer's base
#                          plugins for the camera tests, and the pinned npm
#                          packages of the browser tests (e2e/)
set -euo pipefail
what=${1:-test}
pkgs=(pkg-config libopencv-dev libvpx-dev libjpeg62-turbo-dev fonts-nanum)
if [ "$what" = test ]; then
  pkgs+=(mosquitto mosquitto-clients chromium qemu-user iproute2 systemd curl python3 util-linux
         mmdebstrap gcc-aarch64-linux-gnu g++-aarch64-linux-gnu dpkg-dev gstreamer1.0-plugins-base)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "$what" = test ] && [ ! -d "$(dirname "$0")/../e2e/node_modules/playwright-core" ] && command -v npm >/dev/null; then
  (cd "$(dirname "$0")/../e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
