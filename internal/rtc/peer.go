package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"facegate/pipeline"
	"facegate/pipeline/frame"
)

// maxBuffered is how much result JSON may wait in a DataChannel before new
// results are dropped: overlays are only worth their newest frame.
const maxBuffered = 64 << 10

// peer is one browser connection: either a browser camera or a live viewer.
type peer struct {
	m     *Manager
	id    string
	owner string
	kind  string

	pc     *webrtc.PeerConnection
	dc     atomic.Pointer[webrtc.DataChannel]
	cancel context.CancelFunc // ends the peer's goroutines
	wg     sync.WaitGroup     // the peer's goroutines
	once   sync.Once
	done   chan struct{}
	camera string // browser camera: the source name
	box    *pipeline.Mailbox
	drops  atomic.Uint64 // results not sent because the channel was full
	live   *liveTrack    // live viewer: the shared track (guarded by m.mu)

	mu      sync.Mutex // guards closing against late OnTrack callbacks
	closing bool
}

func (p *peer) start(ctx context.Context, o Offer, feed LiveFeed) (Answer, error) {
	pc, err := p.m.api.NewPeerConnection(webrtc.Configuration{ICEServers: p.m.iceServers()})
	if err != nil {
		return Answer{}, fmt.Errorf("rtc: new peer: %w", err)
	}
	p.pc = pc
	runCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel

	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		// Failed and Closed are final; Disconnected may recover.
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			p.m.goTracked(p.close)
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() == "results" {
			p.dc.Store(dc)
		}
	})

	switch o.Kind {
	case "camera":
		p.camera = "browser-" + p.id[:6]
		p.box = pipeline.NewMailbox()
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return Answer{}, fmt.Errorf("rtc: transceiver: %w", err)
		}
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			// pion runs this on its own goroutine; count it unless the
			// peer is already closing (wg.Add after Wait is not allowed).
			p.mu.Lock()
			if p.closing {
				p.mu.Unlock()
				return
			}
			p.wg.Add(1)
			p.mu.Unlock()
			defer p.wg.Done()
			p.readCamera(runCtx, tr)
		})
		src := &mailboxSource{name: p.camera, box: p.box}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.m.host.RunBrowserCamera(runCtx, src, p.send)
		}()
	case "live":
		if err := p.m.attachLive(runCtx, p, o.Camera, feed); err != nil {
			return Answer{}, err
		}
	}

	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
		return Answer{}, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return Answer{}, fmt.Errorf("rtc: answer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return Answer{}, fmt.Errorf("rtc: local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return Answer{}, ctx.Err()
	case <-time.After(gatherTimeout):
		return Answer{}, errors.New("rtc: ICE gathering timed out")
	}
	return Answer{Type: "answer", SDP: pc.LocalDescription().SDP, Camera: p.camera, Peer: p.id}, nil
}

// readCamera reads the browser's VP8 track until the peer closes, decoding
// each whole frame into the mailbox. It asks for a keyframe when the track
// starts and after every lost or undecodable frame.
func (p *peer) readCamera(ctx context.Context, tr *webrtc.TrackRemote) {
	log := p.m.log.With("camera", p.camera)
	dec, err := newVP8Decoder()
	if err != nil {
		log.Error("browser camera", "err", err)
		return
	}
	defer dec.close()
	ssrc := uint32(tr.SSRC())
	pli := func() {
		_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
	pli()
	var a assembler
	var pkt rtp.Packet
	buf := make([]byte, 1500)
	lastPLI := time.Now()
	for ctx.Err() == nil {
		n, _, err := tr.Read(buf)
		if err != nil {
			return // the peer closed
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		data, lost, err := a.push(&pkt)
		if (lost || err != nil) && time.Since(lastPLI) > 200*time.Millisecond {
			pli()
			lastPLI = time.Now()
		}
		if data == nil {
			continue
		}
		t0 := time.Now()
		w, h, err := dec.decodeOnly(data)
		if err != nil {
			if time.Since(lastPLI) > 200*time.Millisecond {
				pli()
				lastPLI = time.Now()
			}
			continue
		}
		if w == 0 {
			continue
		}
		f := p.box.Buffer(w, h) // decoded straight into the pipeline's buffer
		dec.convert(f)
		f.Time, f.Seq = t0, uint64(pkt.Timestamp)
		p.box.Publish(f, time.Since(t0))
	}
}

// send writes one result to the DataChannel, or drops it when the channel
// is not open or already holds enough unsent data.
func (p *peer) send(r Result) {
	dc := p.dc.Load()
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen || dc.BufferedAmount() > maxBuffered {
		p.drops.Add(1)
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	if err := dc.SendText(string(b)); err != nil {
		p.drops.Add(1)
	}
}

// close ends the peer once: its goroutines stop and the slot frees.
func (p *peer) close() {
	p.once.Do(func() {
		p.mu.Lock()
		p.closing = true
		p.mu.Unlock()
		if p.cancel != nil {
			p.cancel()
		}
		if p.box != nil {
			p.box.Close()
		}
		if p.pc != nil {
			_ = p.pc.Close() // ends track reads
		}
		p.wg.Wait()
		p.m.detachLive(p)
		p.m.remove(p)
		close(p.done)
	})
}

// mailboxSource is a browser camera as the pipeline sees it.
type mailboxSource struct {
	name string
	box  *pipeline.Mailbox
}

func (s *mailboxSource) Name() string { return s.name }
func (s *mailboxSource) Next(ctx context.Context) (*frame.Frame, error) {
	return s.box.Next(ctx)
}
func (s *mailboxSource) Close() error { s.box.Close(); return nil }

// DecodeTime is how long the last frame took to decode (the pipeline's
// decode stage).
func (s *mailboxSource) DecodeTime() time.Duration { return s.box.DecodeTime() }

// Drops counts decoded frames the pipeline had no time for.
func (s *mailboxSource) Drops() uint64 { return s.box.Drops() }
