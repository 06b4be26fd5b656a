#!/bin/sh
# facegate post-build: runs after the packages are installed into the
# target tree ($1), before the image is made.
set -eu
TARGET_DIR=$1

# facegate keeps its state in /var/lib/facegate (StateDirectory=, created
# by systemd at first start); the root file system is writable.
mkdir -p "$TARGET_DIR/var/lib"

# Boot does not wait for NTP (an offline LAN must still work); facegate
# waits for a plausible clock itself, with a timeout, before it needs one.

# The package must have installed its files.
for f in etc/facegate/config.yaml \
	usr/lib/systemd/system/facegate.service usr/lib/sysusers.d/facegate.conf; do
	if [ ! -e "$TARGET_DIR/$f" ]; then
		echo "facegate post-build: missing /$f" >&2
		exit 1
	fi
done
# Both programs, side by side: the daemon runs its capture helper from its
# own directory, and without it a libcamera (GStreamer) camera would fail
# only once the board runs.
for f in usr/bin/facegate usr/bin/facegate-capture; do
	if [ ! -x "$TARGET_DIR/$f" ]; then
		echo "facegate post-build: /$f is missing or not executable" >&2
		exit 1
	fi
done
