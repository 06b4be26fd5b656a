#!/usr/bin/env bash
# Tests the amd64 package made by scripts/deb.sh (builds it when DEB is not
# given). The package holds two programs: the daemon /usr/bin/facegate and
# its capture helper /usr/bin/facegate-capture (OpenCV), which the daemon
# runs from its own directory; every stage checks both.
#   1. static: control fields, file list (both binaries, executable),
#      conffiles, maintainer scripts parse, the daemon links no OpenCV;
#   2. fake root: `dpkg --root` into an empty tree with the scripts run from
#      outside (--force-script-chrootless, DPKG_ROOT): both binaries, user,
#      group, enable link; then remove (binaries gone, conffile stays) and
#      purge (nothing of ours left);
#   3. chroot (DEB_CHROOT=1, the default when mmdebstrap is available): a
#      Debian 12 tree made by mmdebstrap with exactly the package's Depends
#      plus systemd, cached in .cache/; dpkg --root installs it WITHOUT
#      forcing dependencies, `facegate version` and `facegate-capture
#      --version` run inside it (so Depends name every library either binary
#      needs), then remove and purge;
#   4. arm64 (when dist/ has the arm64 package of the same version, as
#      deb.sh makes after scripts/cross.sh, and the cross sysroot exists):
#      same Depends and files, and both binaries run under qemu-aarch64.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cache=${FACEGATE_CACHE:-$root/.cache}
pass=0
fail=0
ok() { echo "test-deb: ok   $*"; pass=$((pass + 1)); }
bad() { echo "test-deb: FAIL $*" >&2; fail=$((fail + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}

DEB=${DEB:-}
if [ -z "$DEB" ]; then
  # deb.sh also packages bin/facegate-arm64 and bin/facegate-capture-arm64
  # when they exist (section 4).
  DEB=$(scripts/deb.sh | grep "_$(dpkg --print-architecture).deb\$")
fi
[ -f "$DEB" ] || { echo "test-deb: no package $DEB" >&2; exit 1; }
echo "test-deb: testing $DEB"

# --- 1. static ------------------------------------------------------------
field() { dpkg-deb -f "$DEB" "$1"; }
check "package name" test "$(field Package)" = facegate
check "version is a valid Debian version" dpkg --validate-version "$(field Version)"
deps=$(field Depends)
# OpenCV is the helper's (GStreamer, RTSP, video files); still a Depends.
check "Depends names OpenCV core and videoio" grep -q 'libopencv-core406.*libopencv-videoio406\|libopencv-videoio406.*libopencv-core406' <<<"$deps"
check "Depends names libvpx (the daemon's WebRTC)" grep -q 'libvpx' <<<"$deps"
files=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/bin/facegate ./usr/bin/facegate-capture ./lib/systemd/system/facegate.service \
  ./etc/facegate/config.yaml ./usr/lib/sysusers.d/facegate.conf ./usr/share/doc/facegate/copyright; do
  check "contains $f" grep -qx "$f" <<<"$files"
done
for f in ./usr/bin/facegate ./usr/bin/facegate-capture; do
  mode=$(dpkg-deb -c "$DEB" | awk -v f="$f" '$6 == f { print $1 }')
  check "$f is mode 755" test "$mode" = -rwxr-xr-x
done
ctl=$(mktemp -d)
trap 'rm -rf "$ctl" "${fake:-}" "${tree:-}"' EXIT
dpkg-deb -e "$DEB" "$ctl"
check "conffiles lists /etc/facegate/config.yaml" grep -qx /etc/facegate/config.yaml "$ctl/conffiles"
for s in postinst prerm postrm; do
  check "$s is executable POSIX sh" sh -n "$ctl/$s"
done
payload=$ctl/payload
dpkg-deb -x "$DEB" "$payload"
check "md5sums match the payload" sh -c "cd '$payload' && test -s '$ctl/md5sums' && md5sum --quiet -c '$ctl/md5sums'"
# The point of the helper: OpenCV (and its ~240 libraries) stays out of the
# daemon's process. A stray gocv import would bring it back unnoticed, since
# the package Depends on OpenCV anyway.
if command -v objdump >/dev/null; then
  check "the daemon links no OpenCV" sh -c "! objdump -p '$payload/usr/bin/facegate' | grep -q 'NEEDED *libopencv'"
  check "the helper links OpenCV videoio" sh -c "objdump -p '$payload/usr/bin/facegate-capture' | grep -q 'NEEDED *libopencv_videoio'"
else
  echo "test-deb: no objdump (binutils): skipping the linked-libraries checks"
fi

# --- 2. fake root, scripts from outside ---------------------------------------
fake=$(mktemp -d)
mkdir -p "$fake/var/lib/dpkg/info" "$fake/var/lib/dpkg/updates" "$fake/etc"
touch "$fake/var/lib/dpkg/status" "$fake/var/lib/dpkg/available"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$fake/etc/passwd"
printf 'root:x:0:\nvideo:x:44:\n' >"$fake/etc/group"
fdpkg() { dpkg --root="$fake" --force-script-chrootless --force-depends --log=/dev/null "$@"; }
if fdpkg -i "$DEB" >"$fake.log" 2>&1; then
  ok "fake-root install"
  check "binary installed" test -x "$fake/usr/bin/facegate"
  check "capture helper installed next to it, executable" test -x "$fake/usr/bin/facegate-capture"
  check "config installed" test -f "$fake/etc/facegate/config.yaml"
  check "user facegate created, home /var/lib/facegate" grep -q '^facegate:x:[0-9]*:[0-9]*:.*:/var/lib/facegate:/usr/sbin/nologin$' "$fake/etc/passwd"
  check "facegate is in group video" grep -Eq '^video:x:44:(.*,)?facegate(,|$)' "$fake/etc/group"
  check "service enabled" test -L "$fake/etc/systemd/system/multi-user.target.wants/facegate.service"
  echo "# local change" >>"$fake/etc/facegate/config.yaml"
  if fdpkg -r facegate >>"$fake.log" 2>&1; then
    ok "fake-root remove"
    check "binary removed" test ! -e "$fake/usr/bin/facegate"
    check "capture helper removed" test ! -e "$fake/usr/bin/facegate-capture"
    check "changed conffile kept on remove" grep -q '# local change' "$fake/etc/facegate/config.yaml"
    check "service disabled" test ! -e "$fake/etc/systemd/system/multi-user.target.wants/facegate.service"
  else
    bad "fake-root remove"; cat "$fake.log" >&2
  fi
  if fdpkg -P facegate >>"$fake.log" 2>&1; then
    ok "fake-root purge"
    check "/etc/facegate gone after purge" test ! -e "$fake/etc/facegate"
    check "dpkg forgot the package" sh -c "! dpkg --root='$fake' -s facegate"
    left=$(cd "$fake" && find . \( -path ./var/lib/dpkg -o -path ./etc \) -prune -o -type f -print)
    check "no files left outside /etc and dpkg's database" test -z "$left"
  else
    bad "fake-root purge"; cat "$fake.log" >&2
  fi
else
  bad "fake-root install"; cat "$fake.log" >&2
fi
rm -f "$fake.log"

# --- 3. a real Debian 12 root ----------------------------------------------
chroot_test=${DEB_CHROOT:-auto}
if [ "$chroot_test" = auto ]; then
  chroot_test=0
  command -v mmdebstrap >/dev/null && [ "$(id -u)" -eq 0 ] && chroot_test=1
fi
if [ "$chroot_test" = 1 ]; then
  # The tree holds exactly the Depends (names without versions) and systemd.
  pkgs=$(sed -e 's/([^)]*)//g' -e 's/ //g' <<<"$deps"),systemd
  key=$(printf '%s' "$pkgs" | md5sum | cut -c1-12)
  tar=$cache/debian-bookworm-amd64-$key.tar
  if [ ! -f "$tar" ]; then
    mkdir -p "$cache"
    rm -f "$cache"/debian-bookworm-amd64-*.tar
    start=$SECONDS
    mirror=()
    [ -f /etc/apt/sources.list.d/debian.sources ] && mirror=(/etc/apt/sources.list.d/debian.sources)
    # The .tar suffix makes mmdebstrap write a tarball, not a directory.
    mmdebstrap --quiet --variant=minbase --include="$pkgs" bookworm "$tar.tmp.tar" "${mirror[@]}"
    mv "$tar.tmp.tar" "$tar"
    echo "test-deb: made $tar in $((SECONDS - start)) s"
  fi
  tree=$(mktemp -d)
  tar -C "$tree" -xf "$tar"
  cdpkg() { dpkg --root="$tree" --log=/dev/null "$@"; }
  if cdpkg -i "$DEB" >"$tree.log" 2>&1; then
    ok "Debian 12 root: install with dependencies satisfied"
    check "Debian 12 root: user facegate created" chroot "$tree" getent passwd facegate
    check "Debian 12 root: facegate in group video" sh -c "chroot '$tree' id -nG facegate | grep -qw video"
    check "Debian 12 root: service enabled" test -L "$tree/etc/systemd/system/multi-user.target.wants/facegate.service"
    if out=$(chroot "$tree" /usr/bin/facegate version 2>&1); then
      ok "Debian 12 root: facegate version runs ($out)"
    else
      bad "Debian 12 root: facegate version: $out"
    fi
    # The helper needs every OpenCV library at start: this is what proves
    # the OpenCV part of Depends.
    check "Debian 12 root: facegate-capture next to facegate" test -x "$tree/usr/bin/facegate-capture"
    if hout=$(chroot "$tree" /usr/bin/facegate-capture --version 2>&1); then
      ok "Debian 12 root: facegate-capture --version runs ($hout)"
      check "Debian 12 root: helper and daemon report the same version" test "facegate $hout" = "$out"
    else
      bad "Debian 12 root: facegate-capture --version: $hout"
    fi
    check "Debian 12 root: remove" cdpkg -r facegate
    check "Debian 12 root: purge" cdpkg -P facegate
    check "Debian 12 root: nothing left in /etc/facegate, /usr/bin" sh -c "test ! -e '$tree/etc/facegate' && test ! -e '$tree/usr/bin/facegate' && test ! -e '$tree/usr/bin/facegate-capture'"
  else
    bad "Debian 12 root: install"; cat "$tree.log" >&2
  fi
  rm -f "$tree.log"
else
  echo "test-deb: skipping the Debian 12 root (DEB_CHROOT=1 and root + mmdebstrap needed)"
fi

# --- 4. the arm64 package, when there is one ---------------------------------
arm=${DEB_ARM64:-$(ls "$(dirname "$DEB")"/facegate_"$(field Version)"_arm64.deb 2>/dev/null || true)}
sysroot=$cache/sysroot-bookworm-arm64
if [ -n "$arm" ] && [ -f "$arm" ] && [ -d "$sysroot" ] && command -v qemu-aarch64 >/dev/null; then
  check "arm64 package is Architecture: arm64" test "$(dpkg-deb -f "$arm" Architecture)" = arm64
  check "arm64 package has the same Depends" test "$(dpkg-deb -f "$arm" Depends)" = "$deps"
  check "arm64 package has the same file list" test "$(dpkg-deb -c "$arm" | awk '{print $6}')" = "$files"
  armx=$ctl/arm64
  dpkg-deb -x "$arm" "$armx"
  if out=$(qemu-aarch64 -L "$sysroot" "$armx/usr/bin/facegate" version 2>&1); then
    ok "arm64 package: facegate version runs under qemu ($out)"
  else
    bad "arm64 package: facegate version under qemu: $out"
  fi
  if hout=$(qemu-aarch64 -L "$sysroot" "$armx/usr/bin/facegate-capture" --version 2>&1); then
    ok "arm64 package: facegate-capture --version runs under qemu ($hout)"
    check "arm64 package: helper and daemon report the same version" test "facegate $hout" = "$out"
  else
    bad "arm64 package: facegate-capture --version under qemu: $hout"
  fi
else
  echo "test-deb: no arm64 package or sysroot: skipping the arm64 checks (make cross deb)"
fi

echo "test-deb: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
