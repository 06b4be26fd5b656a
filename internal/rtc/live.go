package rtc

import (
	"context"
	"fmt"
	"image"
	"io"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"facegate/pipeline/frame"
)

// liveTrack is one device camera encoded once for every viewer. The encoder
// runs on its own goroutine from the newest camera frame, so slow inference
// never freezes the video; it stops when the last viewer leaves.
type liveTrack struct {
	camera   string
	track    *webrtc.TrackLocalStaticSample
	feed     LiveFeed
	viewers  int
	cancel   context.CancelFunc
	done     chan struct{}
	keyframe atomic.Bool // a viewer asked for one (PLI) or joined
}

// attachLive adds the shared track of camera to p, starting its encoder for
// the first viewer, and forwards the camera's results to p's DataChannel.
func (m *Manager) attachLive(ctx context.Context, p *peer, camera string, feed LiveFeed) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	lt := m.lives[camera]
	if lt == nil {
		track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "facegate-"+camera)
		if err != nil {
			m.mu.Unlock()
			return fmt.Errorf("rtc: live track: %w", err)
		}
		encCtx, cancel := context.WithCancel(context.Background())
		lt = &liveTrack{camera: camera, track: track, feed: feed, cancel: cancel, done: make(chan struct{})}
		m.lives[camera] = lt
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer close(lt.done)
			if err := lt.encode(encCtx); err != nil {
				m.log.Warn("live view encoder stopped", "camera", camera, "err", err)
			}
		}()
	}
	lt.viewers++
	p.live = lt
	m.mu.Unlock()
	lt.keyframe.Store(true)

	sender, err := p.pc.AddTrack(lt.track)
	if err != nil {
		return fmt.Errorf("rtc: add live track: %w", err)
	}
	p.wg.Add(2)
	go func() { // RTCP must be drained; PLI and FIR ask for a keyframe
		defer p.wg.Done()
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, pk := range pkts {
				switch pk.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					lt.keyframe.Store(true)
				}
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		for r := range feed.Results(ctx) {
			p.send(r)
		}
	}()
	return nil
}

// detachLive drops p from its live track and stops the encoder when no
// viewer is left.
func (m *Manager) detachLive(p *peer) {
	m.mu.Lock()
	lt := p.live
	if lt == nil {
		m.mu.Unlock()
		return
	}
	p.live = nil
	lt.viewers--
	last := lt.viewers == 0
	if last {
		delete(m.lives, lt.camera)
	}
	m.mu.Unlock()
	if last {
		lt.cancel()
		<-lt.done
	}
}

// encode paces the camera's newest frames through the VP8 encoder into the
// shared track until ctx ends.
func (lt *liveTrack) encode(ctx context.Context) error {
	fps := lt.feed.FPS()
	if fps <= 0 || fps > 60 {
		fps = 15
	}
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	var f frame.Frame
	var seq uint64
	next := func() bool {
		for {
			select {
			case <-ctx.Done():
				return false
			case <-tick.C:
			}
			if lt.feed.CopyLatest(&f, seq) {
				seq = f.Seq
				return true
			}
		}
	}
	if !next() {
		return nil
	}
	w, h := f.Width&^1, f.Height&^1
	yuv := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	first := true
	src := video.ReaderFunc(func() (image.Image, func(), error) {
		if !first && !next() {
			return nil, func() {}, io.EOF
		}
		first = false
		if f.Width&^1 != w || f.Height&^1 != h {
			w, h = f.Width&^1, f.Height&^1
			yuv = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		}
		frameToI420(yuv, &f)
		return yuv, func() {}, nil
	})
	params, err := vpx.NewVP8Params()
	if err != nil {
		return err
	}
	params.BitRate = 1_500_000
	params.KeyFrameInterval = 4 * fps
	params.Deadline = time.Millisecond // realtime
	enc, err := params.BuildVideoEncoder(src, prop.Media{Video: prop.Video{Width: w, Height: h}})
	if err != nil {
		return err
	}
	defer enc.Close()
	kf, _ := enc.(interface{ ForceKeyFrame() error })
	for {
		if kf != nil && lt.keyframe.Swap(false) {
			_ = kf.ForceKeyFrame()
		}
		data, release, err := enc.Read()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		err = lt.track.WriteSample(media.Sample{Data: data, Duration: time.Second / time.Duration(fps)})
		release()
		if err != nil {
			return err
		}
	}
}
