package rtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"facegate/pipeline"
	"facegate/pipeline/frame"
)

// Errors a caller maps to HTTP statuses.
var (
	ErrTooManyPeers = errors.New("rtc: too many video sessions are open; close one and retry")
	ErrBadOffer     = errors.New("rtc: malformed offer")
	ErrNoCamera     = errors.New("rtc: no such camera")
	ErrClosed       = errors.New("rtc: shutting down")
)

// Config is the webrtc section of the daemon's configuration.
type Config struct {
	UDPPort         int      // 0: any port
	ICEServers      []string // STUN/TURN URLs, for use beyond the LAN
	MaxPeers        int      // cap on concurrent peers (0: 4)
	IncludeLoopback bool     // offer loopback candidates (tests on one machine)
}

// Host is what rtc needs from the rest of the daemon; internal/app
// implements it.
type Host interface {
	// RunBrowserCamera runs the face pipeline on src until ctx ends and
	// calls emit with each processed frame's result.
	RunBrowserCamera(ctx context.Context, src pipeline.Source, emit func(Result))
	// Live returns the live feed of a device camera, if there is one.
	Live(camera string) (LiveFeed, bool)
}

// LiveFeed is a device camera as the live view sees it.
type LiveFeed interface {
	// CopyLatest copies the newest frame into dst if its Seq is greater
	// than after, and reports whether it did.
	CopyLatest(dst *frame.Frame, after uint64) bool
	// FPS is the camera's nominal frame rate.
	FPS() int
	// Results delivers the pipeline's per-frame results until ctx ends.
	Results(ctx context.Context) <-chan Result
}

// Offer is a browser's request for a peer.
type Offer struct {
	Owner  string // the login session the peer belongs to
	Kind   string // "camera" (the browser sends its camera) or "live" (it watches Camera)
	Camera string // for "live"
	SDP    string // a complete offer
}

// Answer is the daemon's reply to an Offer.
type Answer struct {
	Type   string `json:"type"` // always "answer"
	SDP    string `json:"sdp"`
	Camera string `json:"camera,omitempty"` // the source name of a browser camera
	Peer   string `json:"peer"`
}

// Manager owns every peer connection. Close ends them all.
type Manager struct {
	cfg  Config
	host Host
	log  *slog.Logger
	api  *webrtc.API
	mux  ice.UDPMux
	udp  net.PacketConn

	mu     sync.Mutex
	peers  map[string]*peer
	lives  map[string]*liveTrack
	closed bool
	wg     sync.WaitGroup // peers' and live encoders' goroutines
}

// New builds the WebRTC stack once for every peer.
func New(cfg Config, host Host, log *slog.Logger) (*Manager, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = 4
	}
	m := &Manager{cfg: cfg, host: host, log: log, peers: map[string]*peer{}, lives: map[string]*liveTrack{}}
	me := &webrtc.MediaEngine{}
	// VP8 only: the browser must send what the decoder takes.
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}},
		PayloadType: 96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("rtc: register VP8: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{LoggerFactory: slogFactory{log.With("component", "pion")}}
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	// Phones hide their addresses behind .local names; resolve them, but
	// don't announce our own (the LAN reaches us by address).
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if cfg.UDPPort > 0 {
		udp, err := net.ListenUDP("udp", &net.UDPAddr{Port: cfg.UDPPort})
		if err != nil {
			return nil, fmt.Errorf("rtc: webrtc.udp_port %d: %w", cfg.UDPPort, err)
		}
		m.udp = udp
		m.mux = webrtc.NewICEUDPMux(se.LoggerFactory.NewLogger("ice"), udp)
		se.SetICEUDPMux(m.mux)
	}
	m.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return m, nil
}

// Peers returns the number of open peers.
func (m *Manager) Peers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.peers)
}

// Offer answers a browser's offer with a new peer. The answer carries every
// local candidate (no trickle), so one request sets the session up.
func (m *Manager) Offer(ctx context.Context, o Offer) (Answer, error) {
	if !strings.Contains(o.SDP, "v=0") {
		return Answer{}, ErrBadOffer
	}
	var feed LiveFeed
	switch o.Kind {
	case "camera":
	case "live":
		f, ok := m.host.Live(o.Camera)
		if !ok {
			return Answer{}, fmt.Errorf("%w %q", ErrNoCamera, o.Camera)
		}
		feed = f
	default:
		return Answer{}, fmt.Errorf("%w: kind %q (want camera or live)", ErrBadOffer, o.Kind)
	}
	id := randomID()
	p := &peer{m: m, id: id, owner: o.Owner, kind: o.Kind, done: make(chan struct{})}
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return Answer{}, ErrClosed
	case len(m.peers) >= m.cfg.MaxPeers:
		m.mu.Unlock()
		return Answer{}, ErrTooManyPeers
	}
	m.peers[id] = p // reserve the slot before the slow part
	m.mu.Unlock()

	ans, err := p.start(ctx, o, feed)
	if err != nil {
		p.close()
		return Answer{}, err
	}
	return ans, nil
}

// CloseOwner closes every peer of a login session (logout, expiry).
func (m *Manager) CloseOwner(owner string) {
	m.mu.Lock()
	var ps []*peer
	for _, p := range m.peers {
		if p.owner == owner {
			ps = append(ps, p)
		}
	}
	m.mu.Unlock()
	for _, p := range ps {
		p.close()
	}
}

// Close ends every peer and live encoder and waits for their goroutines.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	ps := make([]*peer, 0, len(m.peers))
	for _, p := range m.peers {
		ps = append(ps, p)
	}
	m.mu.Unlock()
	for _, p := range ps {
		p.close()
	}
	m.wg.Wait()
	if m.mux != nil {
		_ = m.mux.Close()
	}
	if m.udp != nil {
		_ = m.udp.Close()
	}
	return nil
}

func (m *Manager) iceServers() []webrtc.ICEServer {
	if len(m.cfg.ICEServers) == 0 {
		return nil
	}
	return []webrtc.ICEServer{{URLs: m.cfg.ICEServers}}
}

// goTracked runs f on a goroutine that Close waits for, unless Close has
// begun (then Close itself is ending everything f would).
func (m *Manager) goTracked(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

func (m *Manager) remove(p *peer) {
	m.mu.Lock()
	delete(m.peers, p.id)
	m.mu.Unlock()
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// gatherTimeout bounds ICE gathering; on a LAN it takes milliseconds.
const gatherTimeout = 5 * time.Second
