package rtc

import (
	"errors"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// maxFrameBytes caps one assembled VP8 frame; a 640×480 keyframe is tens of
// kilobytes, so anything near this size is garbage or an attack.
const maxFrameBytes = 1 << 20

// errFrameTooBig reports a frame larger than maxFrameBytes.
var errFrameTooBig = errors.New("rtc: VP8 frame exceeds 1 MiB")

// assembler joins the RTP packets of one VP8 frame. A frame is complete on
// the marker bit (pion's samplebuilder would wait for the next frame and add
// a whole frame interval of latency). Duplicates, such as Chrome's RTX probes
// that reuse original sequence numbers, are ignored; a gap in sequence
// numbers drops the frame in progress and reports a loss so the caller can
// ask for a keyframe.
type assembler struct {
	buf     []byte // the frame in progress, reused
	started bool   // buf holds the start of a frame
	broken  bool   // a packet of the current frame was lost
	haveSeq bool
	lastSeq uint16
	pkt     codecs.VP8Packet
}

// push adds one packet. It returns a complete frame (valid until the next
// call) or nil, and lost=true when packets went missing since the last call.
func (a *assembler) push(p *rtp.Packet) (frame []byte, lost bool, err error) {
	if a.haveSeq {
		d := int16(p.SequenceNumber - a.lastSeq)
		if d <= 0 {
			return nil, false, nil // duplicate or reordered late packet
		}
		if d > 1 {
			lost = true
			a.broken = true
		}
	}
	a.haveSeq, a.lastSeq = true, p.SequenceNumber
	payload, err := a.pkt.Unmarshal(p.Payload)
	if err != nil {
		a.broken = true
		return nil, lost, err
	}
	if a.pkt.S == 1 && a.pkt.PID == 0 {
		// Start of a new frame: whatever came before was incomplete.
		a.buf, a.started, a.broken = a.buf[:0], true, false
	}
	if !a.started || a.broken {
		if p.Marker {
			a.started = false
		}
		return nil, lost, nil
	}
	if len(a.buf)+len(payload) > maxFrameBytes {
		a.started = false
		return nil, lost, errFrameTooBig
	}
	a.buf = append(a.buf, payload...)
	if !p.Marker {
		return nil, lost, nil
	}
	a.started = false
	return a.buf, lost, nil
}
