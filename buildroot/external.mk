# Every package of this external tree.
include $(sort $(wildcard $(BR2_EXTERNAL_FACEGATE_PATH)/package/*/*.mk))
