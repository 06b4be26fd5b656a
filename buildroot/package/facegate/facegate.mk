################################################################################
#
# facegate
#
################################################################################

# Built from the work tree this external tree lives in (buildroot/ is one
# level below the module root), so an image always matches the checkout.
FACEGATE_SITE = $(BR2_EXTERNAL_FACEGATE_PATH)/..
FACEGATE_SITE_METHOD = local
FACEGATE_VERSION = $(shell git -C $(BR2_EXTERNAL_FACEGATE_PATH) describe --tags --always --dirty 2>/dev/null || echo local)
FACEGATE_LICENSE = Apache-2.0 (facegate, BlazeFace models), MIT (MobileFaceNet model)
FACEGATE_LICENSE_FILES = LICENSE models/README.md

FACEGATE_GOMOD = facegate
# Two programs: the daemon (cgo for libvpx and libjpeg) and its capture helper
# (gocv/OpenCV), which the daemon runs from its own directory, so both go
# to /usr/bin. With several targets the golang infrastructure names each
# binary after its directory (it refuses, or before 2025.11 clobbers with,
# a _BIN_NAME), so none is set.
FACEGATE_BUILD_TARGETS = cmd/facegate cmd/facegate-capture
FACEGATE_LDFLAGS = -s -w -X main.version=$(FACEGATE_VERSION)
FACEGATE_TAGS =
# opencv4 for the helper; libvpx (WebRTC) and jpeg (MJPEG) for the daemon.
FACEGATE_DEPENDENCIES = host-pkgconf opencv4 libvpx jpeg
# gocv finds OpenCV through `#cgo pkg-config: opencv4`: Buildroot's
# pkg-config wrapper answers with the staging directory.
FACEGATE_GO_ENV = PKG_CONFIG="$(PKG_CONFIG_HOST_BINARY)"

# Install every binary built. The infrastructure's own step installs only
# the one named after the package before Buildroot 2025.11 and refuses
# _INSTALL_BINS from 2025.11 on; this works with both.
define FACEGATE_INSTALL_TARGET_CMDS
	$(foreach b,$(notdir $(FACEGATE_BUILD_TARGETS)),\
		$(INSTALL) -D -m 0755 $(@D)/bin/$(b) $(TARGET_DIR)/usr/bin/$(b)
	)
endef

# A local site skips Buildroot's download-time `go mod vendor`, and the
# build runs with -mod=vendor and no network. Vendor once after the rsync
# (using GOPROXY/GOFLAGS from the caller's environment) unless the tree
# already carries a vendor/ directory.
define FACEGATE_VENDOR_MODULES
	if [ ! -d $(@D)/vendor ]; then \
		cd $(@D) && $(HOST_GO_COMMON_ENV) GOPROXY="$(GOPROXY)" GOFLAGS=-mod=mod \
			$(GO_BIN) mod vendor; \
	fi
endef
FACEGATE_POST_RSYNC_HOOKS += FACEGATE_VENDOR_MODULES

define FACEGATE_INSTALL_FILES
	$(INSTALL) -D -m 0644 $(@D)/systemd/config.example.yaml \
		$(TARGET_DIR)/etc/facegate/config.yaml
	$(INSTALL) -d -m 0755 $(TARGET_DIR)/usr/share/facegate/models
	$(INSTALL) -m 0644 $(@D)/models/*.tflite $(@D)/models/SHA256SUMS \
		$(TARGET_DIR)/usr/share/facegate/models/
endef
FACEGATE_POST_INSTALL_TARGET_HOOKS += FACEGATE_INSTALL_FILES

# The unit is the one the .deb ships; the preset makes
# `systemctl preset-all` (target-finalize) enable it.
define FACEGATE_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/systemd/facegate.service \
		$(TARGET_DIR)/usr/lib/systemd/system/facegate.service
	$(INSTALL) -D -m 0644 $(FACEGATE_PKGDIR)/80-facegate.preset \
		$(TARGET_DIR)/usr/lib/systemd/system-preset/80-facegate.preset
	$(INSTALL) -D -m 0644 $(@D)/packaging/sysusers.conf \
		$(TARGET_DIR)/usr/lib/sysusers.d/facegate.conf
endef

# The service user, made at image build time (makeusers format): a system
# user with its state directory as home, no login, in group video.
define FACEGATE_USERS
	facegate -1 facegate -1 * /var/lib/facegate - video facegate face recognition
endef

$(eval $(golang-package))
