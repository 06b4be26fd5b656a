package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"go.uber.org/goleak"

	"facegate/pipeline"
	"facegate/pipeline/frame"
)

// fakeHost reports the size of every frame a browser camera delivers, and
// serves one synthetic device camera for the live view.
type fakeHost struct {
	mu     sync.Mutex
	frames int
}

func (h *fakeHost) RunBrowserCamera(ctx context.Context, src pipeline.Source, emit func(Result)) {
	defer src.Close()
	for {
		f, err := src.Next(ctx)
		if err != nil {
			return
		}
		h.mu.Lock()
		h.frames++
		h.mu.Unlock()
		emit(Result{Frame: f.Seq, W: f.Width, H: f.Height, Faces: []Face{}})
	}
}

func (h *fakeHost) Live(camera string) (LiveFeed, bool) {
	if camera != "door" {
		return nil, false
	}
	return &fakeFeed{}, true
}

type fakeFeed struct{ seq uint64 }

func (f *fakeFeed) CopyLatest(dst *frame.Frame, after uint64) bool {
	f.seq++
	dst.Width, dst.Height, dst.Stride, dst.Format, dst.Seq = 160, 120, 480, frame.RGB, f.seq
	if cap(dst.Pix) < 160*120*3 {
		dst.Pix = make([]byte, 160*120*3)
	}
	dst.Pix = dst.Pix[:160*120*3]
	for i := range dst.Pix {
		dst.Pix[i] = byte(i + int(f.seq))
	}
	return true
}
func (f *fakeFeed) FPS() int { return 30 }
func (f *fakeFeed) Results(ctx context.Context) <-chan Result {
	ch := make(chan Result)
	go func() {
		defer close(ch)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for n := uint64(1); ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			select {
			case ch <- Result{Frame: n, W: 160, H: 120, Faces: []Face{}}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

func newTestManager(t *testing.T, maxPeers int) (*Manager, *fakeHost) {
	t.Helper()
	h := &fakeHost{}
	m, err := New(Config{MaxPeers: maxPeers, IncludeLoopback: true}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, h
}

// client is a Go browser stand-in: it sends VP8 frames and listens on the
// results DataChannel.
type client struct {
	pc      *webrtc.PeerConnection
	results chan Result
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newClient(t *testing.T, send bool) *client {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c := &client{pc: pc, results: make(chan Result, 64)}
	dc, err := pc.CreateDataChannel("results", nil)
	if err != nil {
		t.Fatal(err)
	}
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		var r Result
		if json.Unmarshal(msg.Data, &r) == nil {
			select {
			case c.results <- r:
			default:
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if send {
		track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "test")
		if err != nil {
			t.Fatal(err)
		}
		sender, err := pc.AddTrack(track)
		if err != nil {
			t.Fatal(err)
		}
		c.wg.Add(2)
		go func() {
			defer c.wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := sender.Read(buf); err != nil {
					return
				}
			}
		}()
		go func() {
			defer c.wg.Done()
			c.sendVideo(ctx, track)
		}()
	} else {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *client) sendVideo(ctx context.Context, track *webrtc.TrackLocalStaticSample) {
	params, _ := vpx.NewVP8Params()
	params.BitRate = 500_000
	params.KeyFrameInterval = 10
	n := 0
	tick := time.NewTicker(33 * time.Millisecond)
	defer tick.Stop()
	src := video.ReaderFunc(func() (image.Image, func(), error) {
		n++
		return testPicture(160, 120, n%100), func() {}, nil
	})
	enc, err := params.BuildVideoEncoder(src, prop.Media{Video: prop.Video{Width: 160, Height: 120}})
	if err != nil {
		return
	}
	defer enc.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		b, release, err := enc.Read()
		if err != nil {
			return
		}
		_ = track.WriteSample(media.Sample{Data: b, Duration: 33 * time.Millisecond})
		release()
	}
}

func (c *client) offer(t *testing.T, m *Manager, kind, camera string) (Answer, error) {
	t.Helper()
	off, err := c.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(off); err != nil {
		t.Fatal(err)
	}
	<-gathered
	ans, err := m.Offer(context.Background(), Offer{Owner: "s1", Kind: kind, Camera: camera, SDP: c.pc.LocalDescription().SDP})
	if err != nil {
		return ans, err
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP}); err != nil {
		t.Fatal(err)
	}
	return ans, nil
}

func (c *client) close() {
	c.cancel()
	_ = c.pc.Close()
	c.wg.Wait()
}

func waitResult(t *testing.T, c *client) Result {
	t.Helper()
	select {
	case r := <-c.results:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("no result on the DataChannel")
	}
	return Result{}
}

func TestBrowserCameraResults(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m, h := newTestManager(t, 2)
	defer m.Close()
	c := newClient(t, true)
	defer c.close()
	ans, err := c.offer(t, m, "camera", "")
	if err != nil {
		t.Fatal(err)
	}
	if ans.Camera == "" {
		t.Error("answer names no camera source")
	}
	r := waitResult(t, c)
	if r.W != 160 || r.H != 120 {
		t.Errorf("decoded %dx%d, sent 160x120", r.W, r.H)
	}
	h.mu.Lock()
	n := h.frames
	h.mu.Unlock()
	if n == 0 {
		t.Error("no frame reached the pipeline")
	}
}

func TestLiveView(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m, _ := newTestManager(t, 2)
	defer m.Close()
	c := newClient(t, false)
	defer c.close()
	got := make(chan int, 1)
	c.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		n := 0
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
			n++
			if n == 20 {
				got <- n
			}
		}
	})
	if _, err := c.offer(t, m, "live", "door"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("no live video arrived")
	}
	waitResult(t, c)
	if _, err := c.offer(t, m, "live", "garage"); !errors.Is(err, ErrNoCamera) {
		t.Errorf("unknown camera: %v", err)
	}
}

func TestPeerCapAndBadOffer(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m, _ := newTestManager(t, 1)
	defer m.Close()
	a := newClient(t, true)
	defer a.close()
	if _, err := a.offer(t, m, "camera", ""); err != nil {
		t.Fatal(err)
	}
	b := newClient(t, true)
	defer b.close()
	if _, err := b.offer(t, m, "camera", ""); !errors.Is(err, ErrTooManyPeers) {
		t.Errorf("offer past the cap: %v, want ErrTooManyPeers", err)
	}
	if _, err := m.Offer(context.Background(), Offer{Kind: "camera", SDP: "hello"}); !errors.Is(err, ErrBadOffer) {
		t.Errorf("garbage offer: %v", err)
	}
	m.CloseOwner("s1")
	if n := m.Peers(); n != 0 {
		t.Errorf("%d peers after CloseOwner", n)
	}
}

func TestPeerChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("50 WebRTC sessions")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m, _ := newTestManager(t, 2)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for i := range 50 {
		c := newClient(t, true)
		if _, err := c.offer(t, m, "camera", ""); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i%10 == 0 {
			waitResult(t, c) // now and then, wait for the whole path
		}
		c.close()
		m.CloseOwner("s1")
	}
	if n := m.Peers(); n != 0 {
		t.Errorf("%d peers left", n)
	}
	// A leaked peer holds decoder and SCTP buffers (megabytes each); a few
	// MB of slack covers pools that pion keeps warm.
	if after := heap(); after > before+16<<20 {
		t.Errorf("heap grew from %d to %d bytes over 50 sessions", before, after)
	}
	m.Close()
}
