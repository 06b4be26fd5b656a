#!/usr/bin/env bash
# Installs (or uninstalls) facegate built from source, for `make install` /
# `make uninstall`. Honours PREFIX (default /usr/local), DESTDIR (staging
# root for packagers), SYSCONFDIR (/etc), BIN (bin/facegate) and HELPER
# (bin/facegate-capture).
#
#   $PREFIX/bin/facegate
#   $PREFIX/bin/facegate-capture                  (the capture helper: the
#                                                  daemon runs the one next
#                                                  to its own executable)
#   $PREFIX/lib/systemd/system/facegate.service   (ExecStart points at it)
#   $PREFIX/lib/sysusers.d/facegate.conf
#   $SYSCONFDIR/facegate/config.yaml              (never overwritten)
#
# uninstall removes the first four and leaves the configuration and the
# state in /var/lib/facegate (the gallery) in place, saying how to remove
# them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
action=${1:-install}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
SYSCONFDIR=${SYSCONFDIR:-/etc}
BIN=${BIN:-$root/bin/facegate}
HELPER=${HELPER:-$root/bin/facegate-capture}

bindir=$PREFIX/bin
unitdir=$PREFIX/lib/systemd/system
sysusersdir=$PREFIX/lib/sysusers.d
confdir=$SYSCONFDIR/facegate

# live reports whether we install into the running system as root with
# systemd, where users are created and systemd is told at once.
live() { [ -z "$DESTDIR" ] && [ "$(id -u)" -eq 0 ] && [ -d /run/systemd/system ]; }

case "$action" in
install)
  [ -x "$BIN" ] || { echo "install: $BIN not built (run make build)" >&2; exit 1; }
  # Without the helper the daemon still starts, but GStreamer pipelines,
  # network streams and most video files fail only once a camera uses one:
  # refuse now instead.
  [ -x "$HELPER" ] || { echo "install: $HELPER not built (run make build)" >&2; exit 1; }
  install -d "$DESTDIR$bindir" "$DESTDIR$unitdir" "$DESTDIR$sysusersdir" "$DESTDIR$confdir"
  install -m 755 "$BIN" "$DESTDIR$bindir/facegate"
  # Same directory as the daemon: that is where it looks first (then $PATH,
  # which a systemd service does not share with the shell).
  install -m 755 "$HELPER" "$DESTDIR$bindir/facegate-capture"
  sed -e "s|^ExecStart=/usr/bin/facegate |ExecStart=$bindir/facegate |" \
    -e "s| --config /etc/facegate/| --config $confdir/|" \
    "$root/systemd/facegate.service" >"$DESTDIR$unitdir/facegate.service"
  chmod 644 "$DESTDIR$unitdir/facegate.service"
  install -m 644 "$root/packaging/sysusers.conf" "$DESTDIR$sysusersdir/facegate.conf"
  if [ -e "$DESTDIR$confdir/config.yaml" ]; then
    echo "install: keeping existing $confdir/config.yaml"
  else
    install -m 644 "$root/systemd/config.example.yaml" "$DESTDIR$confdir/config.yaml"
  fi
  if live; then
    systemd-sysusers "$sysusersdir/facegate.conf"
    systemctl daemon-reload
    echo "install: done. Start it with: systemctl enable --now facegate"
    echo "         then read the setup code: journalctl -u facegate | grep setup_code"
  else
    echo "install: files staged under ${DESTDIR:-/}; create the user with systemd-sysusers and run systemctl daemon-reload on the target"
  fi
  ;;
uninstall)
  if live; then
    systemctl disable --now facegate.service 2>/dev/null || true
  fi
  rm -f "$DESTDIR$bindir/facegate" "$DESTDIR$bindir/facegate-capture" \
    "$DESTDIR$unitdir/facegate.service" "$DESTDIR$sysusersdir/facegate.conf"
  live && systemctl daemon-reload
  echo "uninstall: removed the daemon, the capture helper, the unit and the sysusers entry."
  echo "           kept $confdir and /var/lib/facegate (the gallery); remove them by hand if you want them gone."
  ;;
*)
  echo "usage: $0 install|uninstall" >&2
  exit 2
  ;;
esac
