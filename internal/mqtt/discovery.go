package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"
)

// Home Assistant device-based discovery: one retained message on
// homeassistant/device/<device-id>/config lists every entity ("component")
// of the device. A component is removed by publishing the config once with
// that component reduced to its platform, then the config without it.

const personComponentPrefix = "person_"

// component is one entity of the discovery message.
type component map[string]any

// discovery builds the device config. Component ids and unique ids derive
// from the device id and the person id only, so they survive restarts and
// renames.
func (b *Bridge) discovery(people []Person, tombstones map[string]string) []byte {
	dev := b.opts.DeviceID
	uid := func(s string) string { return "facegate_" + dev + "_" + s }
	t := b.t
	cmps := map[string]component{
		"last_person": {
			"p":           "sensor",
			"name":        "Last person",
			"unique_id":   uid("last_person"),
			"icon":        "mdi:account-eye",
			"state_topic": t.event,
			// "left" events keep the current state.
			"value_template": "{% if value_json.type == 'recognized' %}{{ value_json.name }}" +
				"{% elif value_json.type == 'unknown' %}unknown{% else %}{{ this.state }}{% endif %}",
		},
		"recognition": {
			"p":           "event",
			"name":        "Recognition",
			"unique_id":   uid("recognition"),
			"state_topic": t.event,
			"event_types": []string{EventRecognized, EventUnknown},
			// An empty result is ignored by Home Assistant: "left" events
			// are not recognition events.
			"value_template": "{% if value_json.type in ['recognized', 'unknown'] %}" +
				"{{ {'event_type': value_json.type, 'name': value_json.name, 'person_id': value_json.person_id, " +
				"'camera': value_json.camera, 'similarity': value_json.similarity} | to_json }}{% endif %}",
		},
		"snapshot": {
			"p":            "image",
			"name":         "Snapshot",
			"unique_id":    uid("snapshot"),
			"image_topic":  t.snapshot,
			"content_type": "image/jpeg",
		},
		"register_name": {
			"p":             "text",
			"name":          "Name to register",
			"unique_id":     uid("register_name"),
			"icon":          "mdi:form-textbox",
			"command_topic": t.haName,
			"state_topic":   t.haNameState,
			"max":           maxNameLen,
		},
		"register": {
			"p":             "button",
			"name":          "Register face on camera",
			"unique_id":     uid("register"),
			"icon":          "mdi:account-plus",
			"command_topic": t.haRegister,
			"payload_press": "PRESS",
		},
	}
	for _, p := range people {
		if !validID(p.ID) {
			continue
		}
		cmps[personComponentPrefix+p.ID] = component{
			"p":              "binary_sensor",
			"name":           p.Name,
			"unique_id":      uid("person_" + p.ID),
			"device_class":   "occupancy",
			"state_topic":    t.person(p.ID),
			"value_template": "{{ value_json.state }}",
			"payload_on":     Home,
			"payload_off":    Away,
		}
	}
	for id, platform := range tombstones {
		cmps[id] = component{"p": platform}
	}
	msg := map[string]any{
		"dev": map[string]any{
			"ids":  []string{"facegate_" + dev},
			"name": b.opts.DeviceName,
			"mf":   "facegate",
			"mdl":  "facegate",
			"sw":   b.opts.Version,
		},
		"o": map[string]any{"name": "facegate", "sw": b.opts.Version},
		"availability": []map[string]string{{
			"topic":                 t.status,
			"payload_available":     "online",
			"payload_not_available": "offline",
		}},
		"qos":  b.opts.QoS,
		"cmps": cmps,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg); err != nil {
		return nil
	}
	return bytes.TrimSpace(buf.Bytes())
}

// publishDiscovery publishes the device config; components that Home
// Assistant knows from an earlier config (possibly of an earlier run) but
// whose person is gone are first tombstoned.
func (b *Bridge) publishDiscovery(ctx context.Context, people []Person) {
	if !b.opts.Discovery {
		return
	}
	if stale := b.staleComponents(people); len(stale) > 0 {
		b.send(ctx, b.t.discovery, b.discovery(people, stale), true)
	}
	b.send(ctx, b.t.discovery, b.discovery(people, nil), true)
}

// staleComponents lists the person components of the retained discovery
// whose person is no longer enrolled.
func (b *Bridge) staleComponents(people []Person) map[string]string {
	now := map[string]bool{}
	for _, p := range people {
		now[personComponentPrefix+p.ID] = true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	stale := map[string]string{}
	for id, platform := range b.haKnown {
		if strings.HasPrefix(id, personComponentPrefix) && !now[id] {
			stale[id] = platform
		}
	}
	return stale
}

// noteDiscovery records the components of a retained discovery message (our
// own, echoed, or one left by an earlier run) and asks the announcer to
// tombstone people who are gone. Runs in paho's handler: no blocking.
func (b *Bridge) noteDiscovery(payload []byte) {
	var msg struct {
		Cmps map[string]struct {
			P        string `json:"p"`
			Platform string `json:"platform"`
			UniqueID string `json:"unique_id"`
		} `json:"cmps"`
	}
	known := map[string]string{}
	if len(payload) > 0 && len(payload) <= MaxPayload && json.Unmarshal(payload, &msg) == nil {
		for id, c := range msg.Cmps {
			platform := c.P
			if platform == "" {
				platform = c.Platform
			}
			// A tombstone (no unique id) is not a live component.
			if c.UniqueID != "" && platform != "" {
				known[id] = platform
			}
		}
	}
	b.mu.Lock()
	b.haKnown = known
	b.mu.Unlock()
	signal(b.discoveryCheck)
}

// setHAName keeps the name typed into Home Assistant's text entity and
// echoes it on the entity's state topic.
func (b *Bridge) setHAName(s string) {
	if !utf8.ValidString(s) {
		return
	}
	name := strings.TrimSpace(s)
	if utf8.RuneCountInString(name) > maxNameLen {
		return
	}
	b.mu.Lock()
	b.haName = name
	b.mu.Unlock()
	b.offer(b.t.haNameState, []byte(name), true)
}

// componentIDs returns the sorted component ids of a discovery payload
// (tests and logs).
func componentIDs(payload []byte) []string {
	var msg struct {
		Cmps map[string]json.RawMessage `json:"cmps"`
	}
	if json.Unmarshal(payload, &msg) != nil {
		return nil
	}
	ids := make([]string, 0, len(msg.Cmps))
	for id := range msg.Cmps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
