#!/usr/bin/env bash
# Installs what building and testing facegate needs on Debian 12, only when
# it is missing: C libraries for cgo (OpenCV for cameras, libvpx for WebRTC),
# mosquitto for the MQTT tests, chromium for browser tests, a Korean font,
# qemu-user for the arm64 tests, and the npm packages of the browser tests.
set -euo pipefail
pkgs=(pkg-config libopencv-dev libvpx-dev mosquitto mosquitto-clients chromium fonts-nanum
      qemu-user iproute2 systemd)
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
