package mqtt

import (
	"facegate/pipeline/annotate"

	"context"
	"log/slog"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"facegate/pipeline"
	"facegate/pipeline/frame"
)

// BenchmarkHandleEvent is the pipeline's cost of announcing one event: a
// non-blocking hand-off (here into a full queue, the drop path, which is
// what a stalled broker costs the pipeline).
func BenchmarkHandleEvent(b *testing.B) {
	br, err := New(Options{Broker: "tcp://127.0.0.1:1", DeviceID: "bench", EventQueue: 1}, &fakeGallery{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ev := pipeline.Event{Type: pipeline.EventRecognized, Camera: "door", PersonID: "p", Name: "김민수", Box: frame.Box{W: 10, H: 10}}
	b.ReportAllocs()
	for b.Loop() {
		br.HandleEvent(ev)
	}
}

// BenchmarkSnapshot draws one 640×480 snapshot with two named faces and
// encodes it (the announcer's cost per event with a picture).
func BenchmarkSnapshot(b *testing.B) {
	p := annotate.NewPainter(DefaultFontPath, slog.New(slog.DiscardHandler))
	img := grey(640, 480)
	labels := []Label{{Box: frame.Box{X: 100, Y: 120, W: 120, H: 150}, Name: "김민수"}, {Box: frame.Box{X: 400, Y: 100, W: 100, H: 120}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Render(img, labels); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListRequest handles one "list" request with 50 people.
func BenchmarkListRequest(b *testing.B) {
	g := &fakeGallery{}
	for i := range 50 {
		g.add("사람" + string(rune('가'+i)))
	}
	br, err := New(Options{Broker: "tcp://127.0.0.1:1", DeviceID: "bench"}, g, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	r := request{op: OpList, payload: []byte(`{"transaction":1}`)}
	b.ReportAllocs()
	for b.Loop() {
		data, err := br.handle(context.Background(), r)
		if err != nil {
			b.Fatal(err)
		}
		_ = mustJSON(response{Transaction: transactionOf(r.payload), Status: "ok", Data: data})
	}
}

// BenchmarkEventToSubscriber is the latency of one event from Publish to a
// subscriber of <base>/event through a real mosquitto on loopback (QoS 1).
func BenchmarkEventToSubscriber(b *testing.B) {
	brk := startBroker(b)
	tc := newTestClient(b, brk.url())
	events := tc.sub("facegate/bench/event")
	status := tc.sub("facegate/bench/status")
	br, err := New(Options{Broker: brk.url(), DeviceID: "bench", QoS: 1}, &fakeGallery{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); br.Close() }()
	if err := br.Start(ctx); err != nil {
		b.Fatal(err)
	}
	waitFor(b, status, "online", func(m paho.Message) bool { return string(m.Payload()) == "online" })
	ev := Event{Type: EventRecognized, Camera: "door", PersonID: "p", Name: "김민수", Time: time.Now(), Box: frame.Box{W: 10, H: 10}}
	b.ResetTimer()
	for b.Loop() {
		br.Publish(ev)
		<-events
	}
}
