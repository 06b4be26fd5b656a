#!/usr/bin/env bash
# Cross-builds facegate for linux/arm64 with cgo and proves both binaries
# start under qemu-user: the daemon (cgo for libvpx only, no OpenCV) and its
# capture helper facegate-capture (gocv/OpenCV), which ship side by side.
#
# Debian multiarch cannot co-install libopencv-dev:arm64 next to the amd64
# one (libgdal32 conflicts), so the arm64 headers and libraries come from a
# separate sysroot made with mmdebstrap (bookworm, arm64) and cached under
# .cache/ (about 230 MB download, 1.1 GB on disk). The compiler is Debian's
# gcc-aarch64-linux-gnu with --sysroot; pkg-config is pointed into the
# sysroot so `#cgo pkg-config: opencv4` (the helper) and `vpx` (both)
# resolve to arm64 files.
#
# Usage: scripts/cross.sh [build|sysroot|check]
#   sysroot  only make (or reuse) the sysroot
#   build    sysroot + bin/facegate-arm64 + bin/facegate-capture-arm64
#            (default)
#   check    build + run `facegate version`, `facegate-capture --version`
#            and `facegate detect` on photos from ../shared/testdata/faces
#            under qemu-aarch64, comparing the faces with the host build's
#            (scripts/detectcmp); and make sure the daemon links no OpenCV
# Environment: FACEGATE_CACHE (default .cache), OUT (default
# bin/facegate-arm64), OUT_CAPTURE (default facegate-capture-arm64 next to
# OUT), VERSION (default git describe), GO (default go).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${FACEGATE_CACHE:-$root/.cache}
suite=bookworm
# The packages whose arm64 headers/libraries the cgo build links against
# (OpenCV for the helper only, libvpx for the daemon). Changing this list
# changes the stamp, so the sysroot is rebuilt.
sysroot_pkgs=(libc6-dev libstdc++-12-dev libopencv-dev libvpx-dev libjpeg62-turbo-dev)
stamp_text="$suite arm64 ${sysroot_pkgs[*]}"
sysroot=$cache/sysroot-$suite-arm64
out=${OUT:-$root/bin/facegate-arm64}
out_capture=${OUT_CAPTURE:-$(dirname "$out")/facegate-capture-arm64}
GO=${GO:-go}
VERSION=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
mode=${1:-build}

log() { printf 'cross: %s\n' "$*" >&2; }

# need_tools installs Debian packages for missing commands (as root only;
# otherwise it says what to install).
need_tools() {
  local missing=()
  command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
  command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing tools; install them with: apt-get install ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
}

# mirror_args reuses the host's apt sources (so the sysroot comes from the
# same mirror/snapshot the machine already trusts) with the suite replaced.
mirror_args() {
  local f=/etc/apt/sources.list.d/debian.sources
  if [ -f "$f" ]; then
    # Keep only the main archive stanza's URI; security updates come from the
    # -security suite of the same host list.
    printf '%s\n' "$f"
  elif [ -s /etc/apt/sources.list ]; then
    printf '%s\n' /etc/apt/sources.list
  fi
  # Nothing printed: mmdebstrap falls back to its default mirror.
}

make_sysroot() {
  if [ -f "$sysroot/.facegate-sysroot" ] && [ "$(cat "$sysroot/.facegate-sysroot")" = "$stamp_text" ]; then
    log "reusing sysroot $sysroot"
    return 0
  fi
  mkdir -p "$cache"
  local tmp=$sysroot.tmp
  rm -rf "$tmp" "$sysroot"
  log "making arm64 sysroot in $sysroot (first time only: ~230 MB download, ~1.1 GB disk)"
  local start=$SECONDS
  local incl
  incl=$(IFS=,; echo "${sysroot_pkgs[*]}")
  # extract: unpack the packages and their dependencies without running any
  # maintainer script, which is all a sysroot needs and needs no binfmt.
  # shellcheck disable=SC2046
  mmdebstrap --quiet --variant=extract --architectures=arm64 \
    --include="$incl" --skip=cleanup/apt/lists \
    "$suite" "$tmp" $(mirror_args)
  # A sysroot's absolute symlinks must point inside it: rewrite them relative.
  find "$tmp" -type l -lname '/*' -print0 | while IFS= read -r -d '' l; do
    t=$(readlink "$l")
    ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$tmp$t")" "$l"
  done
  rm -rf "$tmp/var/cache/apt/archives"/*.deb
  echo "$stamp_text" >"$tmp/.facegate-sysroot"
  mv "$tmp" "$sysroot"
  log "sysroot ready in $((SECONDS - start)) s ($(du -sh "$sysroot" | cut -f1))"
}

# fix_alternatives links what update-alternatives would have (the extract
# variant runs no maintainer script): libblas.so.3 and liblapack.so.3 live
# in blas/ and lapack/ subdirectories, and OpenCV's core links them.
fix_alternatives() {
  local lib=$sysroot/usr/lib/aarch64-linux-gnu d f
  for d in blas lapack; do
    [ -d "$lib/$d" ] || continue
    for f in "$lib/$d"/lib*.so*; do
      [ -e "$f" ] || continue
      [ -e "$lib/$(basename "$f")" ] || ln -s "$d/$(basename "$f")" "$lib/$(basename "$f")"
    done
  done
}

# build_one OUTPUT PACKAGE cross-compiles one command against the sysroot.
build_one() {
  local start=$SECONDS
  mkdir -p "$(dirname "$1")"
  local pc="$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig:$sysroot/usr/share/pkgconfig"
  log "building $1 ($VERSION)"
  (cd "$root" &&
    CGO_ENABLED=1 GOOS=linux GOARCH=arm64 \
    CC="aarch64-linux-gnu-gcc --sysroot=$sysroot" \
    CXX="aarch64-linux-gnu-g++ --sysroot=$sysroot" \
    PKG_CONFIG_SYSROOT_DIR="$sysroot" PKG_CONFIG_LIBDIR="$pc" PKG_CONFIG_PATH='' \
    CGO_LDFLAGS="-Wl,--as-needed" \
    "$GO" build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$1" "$2")
  log "built in $((SECONDS - start)) s ($(du -h "$1" | cut -f1))"
}

# build makes both: a package without the helper could not read GStreamer
# pipelines, network streams or most video files.
build() {
  build_one "$out" ./cmd/facegate
  build_one "$out_capture" ./cmd/facegate-capture
}

# testdata finds ../shared/testdata (or $FACEGATE_TESTDATA).
testdata() {
  if [ -n "${FACEGATE_TESTDATA:-}" ]; then echo "$FACEGATE_TESTDATA"; else echo "$root/../shared/testdata"; fi
}

check() {
  log "running under qemu: facegate version"
  local got
  got=$(qemu-aarch64 -L "$sysroot" "$out" version)
  echo "$got"
  case "$got" in
  *"$VERSION"*) ;;
  *) log "unexpected version output (want $VERSION)"; exit 1 ;;
  esac
  # The helper loads every OpenCV library at start, so this also proves the
  # sysroot's arm64 OpenCV resolves.
  log "running under qemu: facegate-capture --version"
  got=$(qemu-aarch64 -L "$sysroot" "$out_capture" --version)
  echo "$got"
  [ "$got" = "$VERSION" ] || { log "unexpected facegate-capture version output (want $VERSION)"; exit 1; }
  # The split's point: the daemon must not pull OpenCV back in (a stray
  # gocv import would, silently, and the .deb's Depends would hide it).
  # (The cross binutils come with gcc-aarch64-linux-gnu.)
  local cv
  cv=$(aarch64-linux-gnu-objdump -p "$out" | awk '$1 == "NEEDED" && $2 ~ /^libopencv/ { printf "%s ", $2 }')
  if [ -n "$cv" ]; then
    log "$out links OpenCV (${cv% }); only facegate-capture may"
    exit 1
  fi
  log "facegate-arm64 links no OpenCV"
  # The same photos through both builds must give the same faces.
  local faces photos=() d
  faces=$(testdata)/faces
  if [ ! -d "$faces" ]; then
    log "no $faces: skipping the detect comparison"
    return 0
  fi
  for d in "$faces"/*/; do
    [ -f "$d/1.jpg" ] && photos+=("$d/1.jpg")
    [ ${#photos[@]} -ge 3 ] && break
  done
  local work=$cache/cross-check
  mkdir -p "$work"
  log "building the host binary for comparison"
  (cd "$root" && "$GO" build -trimpath -o "$work/facegate-host" ./cmd/facegate)
  log "facegate detect on ${#photos[@]} photos: host vs arm64 under qemu"
  "$work/facegate-host" detect "${photos[@]}" >"$work/host.jsonl"
  qemu-aarch64 -L "$sysroot" "$out" detect "${photos[@]}" >"$work/arm64.jsonl"
  (cd "$root" && "$GO" run ./scripts/detectcmp "$work/host.jsonl" "$work/arm64.jsonl")
}

need_tools
case "$mode" in
sysroot) make_sysroot; fix_alternatives ;;
build) make_sysroot; fix_alternatives; build ;;
check) make_sysroot; fix_alternatives; build; check ;;
*) echo "usage: $0 [build|sysroot|check]" >&2; exit 2 ;;
esac
