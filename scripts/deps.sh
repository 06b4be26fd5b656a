#!/usr/bin/env bash
# Installs what building and testing facegate needs on Debian 12, only when
# it is missing: C libraries for cgo (OpenCV for cameras, libvpx for WebRTC),
# mosquitto for the MQTT tests, chromium for browser tests, a Korean font,
# qemu-user and the aarch64 cross compiler for the arm64 build and tests,
# mmdebstrap and dpkg-dev for the arm64 sysroot and the .deb checks. The
# browser tests install their pinned npm packages themselves (e2e/).
set -euo pipefail
pkgs=(pkg-config libopencv-dev libvpx-dev mosquitto mosquitto-clients chromium fonts-nanum
      qemu-user iproute2 systemd curl python3 util-linux
      mmdebstrap gcc-aarch64-linux-gnu g++-aarch64-linux-gnu dpkg-dev gstreamer1.0-plugins-base)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -d "$(dirname "$0")/../e2e/node_modules/playwright-core" ] && command -v npm >/dev/null; then
  (cd "$(dirname "$0")/../e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
