#!/usr/bin/env bash
# Builds Debian packages of facegate with dpkg-deb:
#   dist/facegate_<version>_amd64.deb   from fresh builds of ./cmd/facegate
#                                       and ./cmd/facegate-capture
#   dist/facegate_<version>_arm64.deb   when bin/facegate-arm64 and
#                                       bin/facegate-capture-arm64 exist
#                                       (scripts/cross.sh makes them)
# Contents: /usr/bin/facegate (the daemon), /usr/bin/facegate-capture (its
# capture helper, which the daemon runs from its own directory), the systemd
# unit, /etc/facegate/config.yaml (a conffile), a sysusers.d entry,
# maintainer scripts (packaging/) that create the user and enable + start
# the service, and the docs.
# Depends: computed with dpkg-shlibdeps from the NEEDED entries of both
# binaries together, so it follows whatever each links: libvpx for the
# daemon, OpenCV and libstdc++ for the helper. OpenCV stays a Depends, not a
# Recommends: without it the helper cannot start, and a GStreamer, RTSP or
# video-file camera would fail only when first used.
#
# Environment: VERSION (default git describe), ARCHES (default "amd64" plus
# "arm64" when the cross binaries exist), OUT (default dist), GO.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GO=${GO:-go}
OUT=${OUT:-$root/dist}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}

log() { printf 'deb: %s\n' "$*" >&2; }

# debversion turns git describe output into a Debian version (must start
# with a digit): v1.2.3 -> 1.2.3, v1.2.3-4-gabc -> 1.2.3+git4.abc,
# abc1234[-dirty] -> 0~git<commit date>.abc1234[+dirty].
debversion() {
  local v=$1 suffix=""
  case "$v" in *-dirty) v=${v%-dirty}; suffix="+dirty" ;; esac
  if [[ $v =~ ^v?([0-9][0-9A-Za-z.]*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
    echo "${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.${BASH_REMATCH[3]}$suffix"
  elif [[ $v =~ ^v?([0-9][0-9A-Za-z.+~]*)$ ]]; then
    echo "${BASH_REMATCH[1]}$suffix"
  else
    local date
    date=$(git log -1 --format=%cd --date=format:%Y%m%d%H%M 2>/dev/null || echo 0)
    v=$(printf '%s' "$v" | tr -c 'A-Za-z0-9.~+' '.')
    echo "0~git$date.$v$suffix"
  fi
}

need() {
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" -eq 0 ]; then
    log "installing $2"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$2" >/dev/null
  else
    log "missing $1: apt-get install $2"; exit 1
  fi
}
need dpkg-deb dpkg
need dpkg-shlibdeps dpkg-dev
need objdump binutils

# needed prints a binary's NEEDED sonames, sorted.
needed() { objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }' | sort; }

# shlibdeps prints the Depends line for binaries of the host architecture:
# one line covering all of them (dpkg-shlibdeps merges the libraries and
# keeps the highest minimum version of each).
shlibdeps() {
  local tmp
  tmp=$(mktemp -d)
  mkdir -p "$tmp/debian"
  printf 'Source: facegate\n\nPackage: facegate\nArchitecture: any\n' >"$tmp/debian/control"
  (cd "$tmp" && dpkg-shlibdeps -O "$@" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
  rm -rf "$tmp"
}

debver=$(debversion "$VERSION")
mkdir -p "$OUT"
hostarch=$(dpkg --print-architecture)

# The host builds: same flags as `make build`, stripped for size.
hostdir="$OUT/build/$hostarch"
mkdir -p "$hostdir"
log "building $hostdir/facegate and $hostdir/facegate-capture ($VERSION)"
"$GO" build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$hostdir/facegate" ./cmd/facegate
"$GO" build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$hostdir/facegate-capture" ./cmd/facegate-capture
hostdeps=$(shlibdeps "$hostdir/facegate" "$hostdir/facegate-capture")
[ -n "$hostdeps" ] || { log "dpkg-shlibdeps found no dependencies for $hostdir/facegate*"; exit 1; }

if [ -z "${ARCHES:-}" ]; then
  ARCHES=$hostarch
  [ -x bin/facegate-arm64 ] && [ "$hostarch" != arm64 ] && ARCHES="$ARCHES arm64"
fi

for arch in $ARCHES; do
  if [ "$arch" = "$hostarch" ]; then
    bin=$hostdir/facegate
    helper=$hostdir/facegate-capture
  else
    bin=$root/bin/facegate-$arch
    helper=$root/bin/facegate-capture-$arch
    for b in "$bin" "$helper"; do
      [ -x "$b" ] || { log "no $b: run scripts/cross.sh first"; exit 1; }
    done
    # Package names are the same on every architecture, so the host
    # binaries' Depends hold when each foreign binary links nothing more
    # than its host counterpart (daemon with daemon, helper with helper).
    for pair in "facegate:$bin" "facegate-capture:$helper"; do
      extra=$(comm -13 <(needed "$hostdir/${pair%%:*}") <(needed "${pair#*:}") | grep -v '^ld-linux' || true)
      if [ -n "$extra" ]; then
        log "${pair#*:} links libraries the $hostarch build does not: $extra"
        exit 1
      fi
    done
  fi
  deps=$hostdeps
  pkg=$OUT/pkgroot-$arch
  rm -rf "$pkg"
  install -d -m 755 "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/facegate" \
    "$pkg/usr/lib/sysusers.d" "$pkg/usr/share/doc/facegate"
  install -m 755 "$bin" "$pkg/usr/bin/facegate"
  install -m 755 "$helper" "$pkg/usr/bin/facegate-capture"
  install -m 644 systemd/facegate.service "$pkg/lib/systemd/system/facegate.service"
  install -m 644 systemd/config.example.yaml "$pkg/etc/facegate/config.yaml"
  install -m 644 packaging/sysusers.conf "$pkg/usr/lib/sysusers.d/facegate.conf"
  install -m 644 LICENSE "$pkg/usr/share/doc/facegate/copyright"
  [ -f README.md ] && install -m 644 README.md "$pkg/usr/share/doc/facegate/README.md"
  install -D -m 644 systemd/jetson.conf "$pkg/usr/share/doc/facegate/examples/jetson.conf"
  for s in postinst prerm postrm; do install -m 755 "packaging/$s" "$pkg/DEBIAN/$s"; done
  install -m 644 packaging/conffiles "$pkg/DEBIAN/conffiles"
  size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
  sed -e "s/@VERSION@/$debver/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$deps/" \
    packaging/control.in >"$pkg/DEBIAN/control"
  (cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
  deb=$OUT/facegate_${debver}_$arch.deb
  dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
  rm -rf "$pkg"
  log "built $deb ($(du -h "$deb" | cut -f1))"
  echo "$deb"
done
