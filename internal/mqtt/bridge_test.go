package mqtt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image/jpeg"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/text/unicode/norm"

	"facegate/pipeline/frame"
)

const testDevice = "dev1"

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// startBridge runs a bridge against url and waits until it says online.
func startBridge(t *testing.T, url string, g Gallery, tweak ...func(*Options)) *Bridge {
	t.Helper()
	o := Options{Broker: url, DeviceID: testDevice, QoS: 1, Discovery: true, Version: "test", MaxBackoff: 2 * time.Second}
	for _, f := range tweak {
		f(&o)
	}
	b, err := New(o, g, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); b.Close() })
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

// watcher subscribes to the bridge's topics before the bridge starts, so
// nothing is missed.
type watcher struct {
	*testClient
	base                                         string
	status, people, responses, discovery, events <-chan paho.Message
}

func newWatcher(t *testing.T, url string) *watcher {
	tc := newTestClient(t, url)
	base := "facegate/" + testDevice
	return &watcher{
		testClient: tc,
		base:       base,
		status:     tc.sub(base + "/status"),
		people:     tc.sub(base + "/people"),
		responses:  tc.sub(base + "/response/+"),
		discovery:  tc.sub("homeassistant/device/" + testDevice + "/config"),
		events:     tc.sub(base + "/event"),
	}
}

func (w *watcher) waitOnline() {
	w.t.Helper()
	waitFor(w.t, w.status, "status online", func(m paho.Message) bool { return string(m.Payload()) == "online" })
}

func photo(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(testdata(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(data)
}

func decodePeople(t *testing.T, payload []byte) []personJSON {
	t.Helper()
	var people []personJSON
	if err := json.Unmarshal(payload, &people); err != nil {
		t.Fatalf("people list is not JSON: %v: %q", err, payload)
	}
	return people
}

// TestRegisterByPhoto registers a Korean name with a photo: the response is
// ok, the retained people list and the discovery carry the name byte for
// byte in NFC, even when the request spelled it decomposed (NFD).
func TestRegisterByPhoto(t *testing.T) {
	br := startBroker(t)
	w := newWatcher(t, br.url())
	g := &fakeGallery{}
	startBridge(t, br.url(), g)
	w.waitOnline()

	nfc := "김민수"
	nfd := norm.NFD.String(nfc)
	if nfd == nfc {
		t.Fatal("test needs a decomposed spelling")
	}
	r := w.request(w.responses, w.base, "register", "tx-1", map[string]any{"name": nfd, "image": photo(t, "faces/Elon_Musk/1.jpg")})
	if r.Status != "ok" || r.Error != nil {
		t.Fatalf("register: %s %v", r.Status, *r.Error)
	}
	var p personJSON
	if err := json.Unmarshal(r.Data, &p); err != nil || p.ID == "" {
		t.Fatalf("register data %s: %v", r.Data, err)
	}
	if p.Name != nfc || !bytes.Equal([]byte(p.Name), []byte(nfc)) {
		t.Fatalf("name in response %q (% x), want NFC %q", p.Name, p.Name, nfc)
	}

	// The people list is retained: once it is out, a client that
	// subscribes gets it.
	waitFor(t, w.people, "people list with the new person", func(m paho.Message) bool {
		return strings.Contains(string(m.Payload()), p.ID)
	})
	late := newTestClient(t, br.url())
	msg := waitFor(t, late.sub(w.base+"/people"), "retained people with the new person", func(m paho.Message) bool {
		return m.Retained() && strings.Contains(string(m.Payload()), p.ID)
	})
	people := decodePeople(t, msg.Payload())
	if len(people) != 1 || people[0].Name != nfc || people[0].ID != p.ID || people[0].Samples != 1 {
		t.Fatalf("people list %+v", people)
	}
	// Raw bytes, not just decoded strings: no \u escapes, no NFD.
	if !bytes.Contains(msg.Payload(), []byte(nfc)) {
		t.Fatalf("people payload does not carry the NFC bytes: %q", msg.Payload())
	}

	d := waitFor(t, w.discovery, "discovery with the person", func(m paho.Message) bool {
		return bytes.Contains(m.Payload(), []byte(`"person_`+p.ID+`"`))
	})
	var disc struct {
		Cmps map[string]map[string]any `json:"cmps"`
	}
	if err := json.Unmarshal(d.Payload(), &disc); err != nil {
		t.Fatal(err)
	}
	c := disc.Cmps["person_"+p.ID]
	if c["p"] != "binary_sensor" || c["name"] != nfc || c["unique_id"] != "facegate_"+testDevice+"_person_"+p.ID ||
		c["state_topic"] != w.base+"/person/"+p.ID || c["device_class"] != "occupancy" {
		t.Fatalf("person component %v", c)
	}
}

// TestDeleteByMQTT deletes by name and by id: the people list updates, the
// person's discovery component is tombstoned and then left out.
func TestDeleteByMQTT(t *testing.T) {
	br := startBroker(t)
	w := newWatcher(t, br.url())
	g := &fakeGallery{}
	a, b := g.add("김민수"), g.add("Jane")
	bridge := startBridge(t, br.url(), g)
	w.waitOnline()
	waitFor(t, w.discovery, "discovery with both people", func(m paho.Message) bool {
		ids := strings.Join(componentIDs(m.Payload()), ",")
		return strings.Contains(ids, "person_"+a.ID) && strings.Contains(ids, "person_"+b.ID)
	})
	presence := w.sub(w.base + "/person/" + a.ID)
	w.pub(w.base+"/person/"+a.ID, `{"state":"home"}`, true) // as if the bridge had published it

	r := w.request(w.responses, w.base, "delete", "del-1", map[string]any{"name": "김민수"})
	if r.Status != "ok" {
		t.Fatalf("delete: %s", *r.Error)
	}
	waitFor(t, w.people, "people list without the deleted person", func(m paho.Message) bool {
		people := decodePeople(t, m.Payload())
		return len(people) == 1 && people[0].ID == b.ID
	})
	// Tombstone first: the removed component reduced to its platform.
	tomb := waitFor(t, w.discovery, "tombstone", func(m paho.Message) bool {
		var d struct {
			Cmps map[string]map[string]any `json:"cmps"`
		}
		_ = json.Unmarshal(m.Payload(), &d)
		c, ok := d.Cmps["person_"+a.ID]
		return ok && len(c) == 1 && c["p"] == "binary_sensor"
	})
	_ = tomb
	waitFor(t, w.discovery, "discovery without the person", func(m paho.Message) bool {
		ids := strings.Join(componentIDs(m.Payload()), ",")
		return !strings.Contains(ids, "person_"+a.ID) && strings.Contains(ids, "person_"+b.ID)
	})
	waitFor(t, presence, "retained presence cleared", func(m paho.Message) bool { return len(m.Payload()) == 0 })

	// The pipeline may still report the deleted person (its presence
	// tracker expires them later): that must not bring the topic back.
	other := w.sub(w.base + "/person/" + b.ID)
	bridge.SetPresence(Presence{PersonID: a.ID, Name: "김민수", State: Away})
	bridge.SetPresence(Presence{PersonID: b.ID, Name: "Jane", State: Home})
	waitFor(t, other, "the other person's update", func(m paho.Message) bool { return strings.Contains(string(m.Payload()), `"home"`) })
	select {
	case m := <-presence:
		t.Fatalf("deleted person's presence published again: %q", m.Payload())
	default:
	}

	// And the retained discovery a restarted Home Assistant reads has no trace of it.
	late := newTestClient(t, br.url())
	d := waitFor(t, late.sub("homeassistant/device/"+testDevice+"/config"), "retained discovery", nil)
	if ids := strings.Join(componentIDs(d.Payload()), ","); strings.Contains(ids, a.ID) {
		t.Fatalf("retained discovery still lists the deleted person: %s", ids)
	}

	r = w.request(w.responses, w.base, "delete", "del-2", map[string]any{"person_id": b.ID})
	if r.Status != "ok" {
		t.Fatalf("delete by id: %s", *r.Error)
	}
	if people, _ := g.snapshot(); len(people) != 0 {
		t.Fatalf("gallery after deletes: %+v", people)
	}
}

// TestBadRequests: every bad request gets status:"error" with a message that
// says what is wrong, and the gallery does not change.
func TestBadRequests(t *testing.T) {
	br := startBroker(t)
	w := newWatcher(t, br.url())
	g := &fakeGallery{}
	g.add("Jane")
	startBridge(t, br.url(), g)
	w.waitOnline()
	before, mutated := g.snapshot()

	noface, err := os.ReadFile(testdata(t, "faces/Elon_Musk/1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	_ = noface
	big := bytes.Repeat([]byte("A"), 9<<20)
	bigJSON := []byte(`{"transaction":"big","name":"x","image":"` + string(big) + `"}`)
	cases := []struct {
		name, op, tx string
		payload      []byte
		want         string
	}{
		{"malformed JSON", "register", "", []byte(`{"name": "x", `), "malformed JSON"},
		{"not an object", "register", "", []byte(`[1,2]`), "JSON object"},
		{"wrong type", "register", "t1", []byte(`{"transaction":"t1","name":5}`), `"name" must be a string`},
		{"missing name", "register", "t2", []byte(`{"transaction":"t2","image":"AAAA"}`), `missing "name"`},
		{"missing image", "register", "t3", []byte(`{"transaction":"t3","name":"Kim"}`), `missing "image"`},
		{"empty name", "register", "t4", []byte(`{"transaction":"t4","name":"  ","image":"AAAA"}`), "invalid name: empty"},
		{"long name", "register", "t5", []byte(`{"transaction":"t5","name":"` + strings.Repeat("가", 65) + `","image":"AAAA"}`), "at most 64"},
		{"bad base64", "register", "t6", []byte(`{"transaction":"t6","name":"Kim","image":"!!!!"}`), "not valid base64"},
		{"not an image", "register", "t7", []byte(`{"transaction":"t7","name":"Kim","image":"` + base64.StdEncoding.EncodeToString([]byte("hello, world")) + `"}`), "neither a JPEG nor a PNG"},
		{"truncated JPEG", "register", "t8", []byte(`{"transaction":"t8","name":"Kim","image":"` + base64.StdEncoding.EncodeToString([]byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10}) + `"}`), "damaged JPEG"},
		{"both sources", "register", "t9", []byte(`{"transaction":"t9","name":"Kim","image":"AAAA","from":"camera"}`), "not both"},
		{"bad from", "register", "t10", []byte(`{"transaction":"t10","name":"Kim","from":"disk"}`), `"from" must be "camera"`},
		{"9 MB payload", "register", "", bigJSON, "payload too large"},
		{"unknown person id", "delete", "t11", []byte(`{"transaction":"t11","person_id":"nobody"}`), `no person with id "nobody"`},
		{"unknown name", "delete", "t12", []byte(`{"transaction":"t12","name":"Nobody"}`), `no person named "Nobody"`},
		{"delete nothing", "delete", "t13", []byte(`{"transaction":"t13"}`), `missing "person_id" or "name"`},
		{"rename unknown", "rename", "t14", []byte(`{"transaction":"t14","person_id":"nobody","name":"X"}`), `no person with id "nobody"`},
		{"rename no name", "rename", "t15", []byte(`{"transaction":"t15","person_id":"p0001"}`), `missing "name"`},
		{"unknown op", "explode", "t16", []byte(`{"transaction":"t16"}`), `unknown request "explode"`},
		{"ignore without unknown", "ignore", "t17", []byte(`{"transaction":"t17"}`), "no unknown face"},
		{"trailing data", "delete", "", []byte(`{"name":"Jane"} {"name":"Jane"}`), "data after the object"},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Requests without a usable transaction are answered with null;
			// run them one at a time so each response is ours.
			r := w.rawRequest(w.responses, w.base, c.op, c.tx, c.payload)
			if r.Status != "error" || r.Error == nil {
				t.Fatalf("status %q, want error", r.Status)
			}
			if !strings.Contains(*r.Error, c.want) {
				t.Fatalf("error %q, want it to say %q", *r.Error, c.want)
			}
			if string(r.Data) != "null" {
				t.Fatalf("error response carries data %s", r.Data)
			}
		})
	}
	after, mutatedAfter := g.snapshot()
	if mutatedAfter != mutated || len(after) != len(before) || after[0] != before[0] {
		t.Fatalf("gallery changed: %+v → %+v (%d → %d changes)", before, after, mutated, mutatedAfter)
	}
	// The bridge still works.
	r := w.request(w.responses, w.base, "list", "after", nil)
	if r.Status != "ok" || !strings.Contains(string(r.Data), "Jane") {
		t.Fatalf("list after bad requests: %s %s", r.Status, r.Data)
	}
}

// TestFacesGate: the gallery's answers about faces reach the requester as
// they are, and change nothing.
func TestFacesGate(t *testing.T) {
	br := startBroker(t)
	w := newWatcher(t, br.url())
	count := map[int]int{} // image size → faces, chosen per request below
	g := &fakeGallery{faces: func(img []byte) (int, error) { return count[len(img)], nil }}
	startBridge(t, br.url(), g)
	w.waitOnline()
	for _, c := range []struct {
		file  string
		faces int
		want  string
	}{
		{"faces/_noface/landscape_sea.jpg", 0, "no face"},
		{"faces/_group/bbt2.jpg", 2, "2 faces"},
	} {
		data, err := os.ReadFile(testdata(t, c.file))
		if err != nil {
			t.Fatal(err)
		}
		count[len(data)] = c.faces
		r := w.request(w.responses, w.base, "register", c.file, map[string]any{"name": "Kim", "image": base64.StdEncoding.EncodeToString(data)})
		if r.Status != "error" || r.Error == nil || !strings.Contains(*r.Error, c.want) {
			t.Fatalf("%s: %s %v", c.file, r.Status, r.Error)
		}
	}
	if people, n := g.snapshot(); len(people) != 0 || n != 0 {
		t.Fatalf("gallery changed: %+v", people)
	}
}

// TestBurst: 1,000 list requests, every one answered.
func TestBurst(t *testing.T) {
	br := startBroker(t)
	w := newWatcher(t, br.url())
	g := &fakeGallery{}
	g.add("김민수")
	b := startBridge(t, br.url(), g)
	w.waitOnline()
	const n = 1000
	for i := range n {
		tok := w.c.Publish(w.base+"/request/list", 1, false, `{"transaction":`+itoa(i)+`}`)
		_ = tok // the broker acknowledges in the background; all are waited for below
	}
	seen := make([]bool, n)
	got := 0
	deadline := time.After(2 * generous)
	for got < n {
		select {
		case m := <-w.responses:
			var r decodedResponse
			if err := json.Unmarshal(m.Payload(), &r); err != nil {
				t.Fatal(err)
			}
			var i int
			if json.Unmarshal(r.Transaction, &i) != nil || i < 0 || i >= n || seen[i] {
				t.Fatalf("unexpected transaction %s", r.Transaction)
			}
			if r.Status != "ok" || !strings.Contains(string(r.Data), "김민수") {
				t.Fatalf("response %d: %s %s", i, r.Status, r.Data)
			}
			seen[i] = true
			got++
		case <-deadline:
			t.Fatalf("%d of %d answered; stats %+v", got, n, b.Stats())
		}
	}
	// Still responsive afterwards.
	if r := w.request(w.responses, w.base, "health", "h", nil); r.Status != "ok" {
		t.Fatalf("health after burst: %s", r.Status)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestEventsPresenceSnapshot: events go out with name null when unknown, the
// snapshot is a JPEG published before its event, presence is retained.
func TestEventsPresenceSnapshot(t *testing.T) {
	br := startBroker(t)
	w := newWatcher(t, br.url())
	snaps := w.sub(w.base + "/snapshot")
	g := &fakeGallery{}
	p := g.add("김민수")
	presence := w.sub(w.base + "/person/" + p.ID)
	b := startBridge(t, br.url(), g)
	w.waitOnline()

	// Before the pipeline has seen them, enrolled people are away.
	var initial map[string]any
	if err := json.Unmarshal(waitFor(t, presence, "initial presence", nil).Payload(), &initial); err != nil {
		t.Fatal(err)
	}
	if initial["state"] != "away" || initial["name"] != "김민수" || initial["last_seen"] != nil {
		t.Fatalf("initial presence %v", initial)
	}

	img := FrameImage(frame.Frame{Pix: make([]byte, 320*240*3), Width: 320, Height: 240, Stride: 320 * 3, Format: frame.BGR})
	now := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	b.Publish(Event{Type: EventRecognized, ID: "e1", Time: now, Camera: "door", Track: 7, PersonID: p.ID, Name: p.Name,
		Similarity: 0.8, Box: frame.Box{X: 100, Y: 60, W: 80, H: 100}, Image: img})
	b.Publish(Event{Type: EventUnknown, ID: "e2", Time: now, Camera: "door", Track: 8, Box: frame.Box{X: 10, Y: 10, W: 50, H: 50}})
	b.SetPresence(Presence{PersonID: p.ID, Name: p.Name, State: Home, LastSeen: now, Camera: "door"})

	snap := waitFor(t, snaps, "snapshot", nil)
	if _, err := jpeg.Decode(bytes.NewReader(snap.Payload())); err != nil {
		t.Fatalf("snapshot is not a JPEG: %v", err)
	}
	var e1, e2 map[string]any
	m := waitFor(t, w.events, "recognized event", nil)
	if err := json.Unmarshal(m.Payload(), &e1); err != nil {
		t.Fatal(err)
	}
	if e1["type"] != "recognized" || e1["name"] != "김민수" || e1["person_id"] != p.ID || e1["camera"] != "door" ||
		e1["snapshot"] != w.base+"/snapshot" || e1["track"] != 7.0 || e1["time"] != "2026-11-25T21:00:00Z" {
		t.Fatalf("recognized event %v", e1)
	}
	if box, _ := e1["box"].([]any); len(box) != 4 || box[0] != 100.0 || box[3] != 100.0 {
		t.Fatalf("box %v", e1["box"])
	}
	m = waitFor(t, w.events, "unknown event", nil)
	if err := json.Unmarshal(m.Payload(), &e2); err != nil {
		t.Fatal(err)
	}
	if v, ok := e2["name"]; !ok || v != nil || e2["type"] != "unknown" || e2["person_id"] != nil || e2["snapshot"] != nil {
		t.Fatalf("unknown event %v", e2)
	}
	waitFor(t, presence, "home", func(m paho.Message) bool { return strings.Contains(string(m.Payload()), `"home"`) })
	late := newTestClient(t, br.url())
	pm := waitFor(t, late.sub(w.base+"/person/"+p.ID), "retained presence", nil)
	var pj map[string]any
	if err := json.Unmarshal(pm.Payload(), &pj); err != nil {
		t.Fatal(err)
	}
	if !pm.Retained() || pj["state"] != "home" || pj["name"] != "김민수" || pj["camera"] != "door" || pj["last_seen"] != "2026-11-25T21:00:00Z" {
		t.Fatalf("presence %v (retained %v)", pj, pm.Retained())
	}
}

// TestHomeAssistant: Home Assistant's birth message brings the discovery
// again; the text + button pair registers the face on the camera under the
// typed name.
func TestHomeAssistant(t *testing.T) {
	br := startBroker(t)
	w := newWatcher(t, br.url())
	g := &fakeGallery{}
	startBridge(t, br.url(), g, func(o *Options) { o.Camera = "door" })
	w.waitOnline()
	first := waitFor(t, w.discovery, "discovery", nil)
	var d struct {
		Dev  map[string]any            `json:"dev"`
		O    map[string]any            `json:"o"`
		Av   []map[string]string       `json:"availability"`
		Cmps map[string]map[string]any `json:"cmps"`
	}
	if err := json.Unmarshal(first.Payload(), &d); err != nil {
		t.Fatal(err)
	}
	if d.O["name"] != "facegate" || d.Dev["ids"] == nil || len(d.Av) != 1 || d.Av[0]["topic"] != w.base+"/status" {
		t.Fatalf("discovery header %+v %+v %+v", d.Dev, d.O, d.Av)
	}
	for id, platform := range map[string]string{"last_person": "sensor", "recognition": "event", "snapshot": "image", "register_name": "text", "register": "button"} {
		c := d.Cmps[id]
		if c["p"] != platform || c["unique_id"] != "facegate_"+testDevice+"_"+id {
			t.Errorf("component %s: %v", id, c)
		}
	}
	if d.Cmps["snapshot"]["image_topic"] != w.base+"/snapshot" {
		t.Errorf("image topic %v", d.Cmps["snapshot"])
	}

	w.pub("homeassistant/status", "online", false)
	waitFor(t, w.discovery, "discovery again after homeassistant/status online", nil)

	nameState := w.sub(w.base + "/ha/name/state")
	w.pub(w.base+"/ha/name", "이영희", false)
	waitFor(t, nameState, "name echoed", func(m paho.Message) bool { return string(m.Payload()) == "이영희" })
	w.pub(w.base+"/ha/register", "PRESS", false)
	r := waitFor(t, w.responses, "register response", nil)
	var resp decodedResponse
	if err := json.Unmarshal(r.Payload(), &resp); err != nil || resp.Status != "ok" || string(resp.Transaction) != `"homeassistant"` {
		t.Fatalf("register from Home Assistant: %s", r.Payload())
	}
	g.mu.Lock()
	calls := g.camCalls
	g.mu.Unlock()
	if len(calls) != 1 || calls[0] != "door|이영희" {
		t.Fatalf("camera registrations %v", calls)
	}
}

// TestBrokerRestart: the broker goes away and comes back; the bridge
// reconnects, publishes online again and answers requests (re-subscribed).
func TestBrokerRestart(t *testing.T) {
	br := startBroker(t)
	g := &fakeGallery{}
	g.add("Jane")
	b := startBridge(t, br.url(), g)
	w := newWatcher(t, br.url())
	w.waitOnline()
	if r := w.request(w.responses, w.base, "list", "before", nil); r.Status != "ok" {
		t.Fatal(r.Status)
	}
	br.restart()
	// The broker forgot everything (no persistence): a fresh watcher sees
	// only what the bridge publishes after reconnecting.
	w2 := newWatcher(t, br.url())
	w2.waitOnline()
	waitFor(t, w2.people, "people list re-published", func(m paho.Message) bool { return strings.Contains(string(m.Payload()), "Jane") })
	r := w2.request(w2.responses, w2.base, "list", "after", nil)
	if r.Status != "ok" || !strings.Contains(string(r.Data), "Jane") {
		t.Fatalf("list after restart: %s %s", r.Status, r.Data)
	}
	if s := b.Stats(); s.Connects < 2 || !s.Connected {
		t.Fatalf("stats after restart %+v", s)
	}
}

// TestKilledDaemon: the process holding the bridge dies without a
// DISCONNECT; the broker publishes its Last Will "offline".
func TestKilledDaemon(t *testing.T) {
	br := startBroker(t)
	w := newWatcher(t, br.url())
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperBridgeProcess$")
	cmd.Env = append(os.Environ(), "FACEGATE_MQTT_HELPER="+br.url())
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	w.waitOnline()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitFor(t, w.status, "offline (Last Will)", func(m paho.Message) bool { return string(m.Payload()) == "offline" })
	late := newTestClient(t, br.url())
	if m := waitFor(t, late.sub(w.base+"/status"), "retained status", nil); string(m.Payload()) != "offline" || !m.Retained() {
		t.Fatalf("retained status %q", m.Payload())
	}
}

// TestHelperBridgeProcess is the daemon of TestKilledDaemon, run in a child
// process; it does nothing in a normal test run.
func TestHelperBridgeProcess(t *testing.T) {
	url := os.Getenv("FACEGATE_MQTT_HELPER")
	if url == "" {
		t.Skip("helper process for TestKilledDaemon")
	}
	b, err := New(Options{Broker: url, DeviceID: testDevice, QoS: 1}, &fakeGallery{}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * generous) // until killed; bounded, should the parent vanish
}

// TestCloseSaysOffline: a clean shutdown publishes offline itself (a
// DISCONNECT suppresses the Will) and leaves no goroutine of the bridge.
func TestCloseSaysOffline(t *testing.T) {
	br := startBroker(t)
	w := newWatcher(t, br.url())
	g := &fakeGallery{}
	b, err := New(Options{Broker: br.url(), DeviceID: testDevice, QoS: 1, Discovery: true}, g, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.waitOnline()
	b.Publish(Event{Type: EventLeft, ID: "x"})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	waitFor(t, w.status, "offline", func(m paho.Message) bool { return string(m.Payload()) == "offline" })
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	if strings.Contains(stacks, "internal/mqtt.(*Bridge)") {
		t.Fatalf("bridge goroutines left after Close:\n%s", stacks)
	}
	b.Publish(Event{Type: EventLeft}) // after Close: dropped, no panic
}

// TestNilBridge: a nil bridge (MQTT off) is safe to use.
func TestNilBridge(t *testing.T) {
	var b *Bridge
	b.Publish(Event{})
	b.SetPresence(Presence{})
	b.PeopleChanged()
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Connected {
		t.Fatal("nil bridge connected")
	}
}

// TestRetainedRequestRefused: a request left retained on the broker reaches
// the bridge at every (re)connection; it is refused, not run again.
func TestRetainedRequestRefused(t *testing.T) {
	br := startBroker(t)
	w := newWatcher(t, br.url())
	w.pub(w.base+"/request/delete", `{"transaction":"ret","name":"Jane"}`, true)
	g := &fakeGallery{}
	g.add("Jane")
	startBridge(t, br.url(), g)
	waitFor(t, w.responses, "response to the retained request", func(m paho.Message) bool {
		var r decodedResponse
		return json.Unmarshal(m.Payload(), &r) == nil && string(r.Transaction) == `"ret"` &&
			r.Status == "error" && strings.Contains(deref(r.Error), "retained request ignored")
	})
	if people, n := g.snapshot(); len(people) != 1 || n != 1 {
		t.Fatalf("retained request changed the gallery: %+v", people)
	}
}
