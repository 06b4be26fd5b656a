package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"facegate/pipeline/frame"
	"facegate/pipeline/gallery"
)

// Samples and ignored faces are stored in a compact binary record, because
// the gallery loads every vector at start and after each write:
//
//	version   1 byte (recordVersion)
//	quality   float32
//	time      int64, Unix nanoseconds
//	source    uint8 length + bytes
//	model     uint8 length + bytes
//	dim       uint16
//	vector    dim × float32
//	face      the rest: JPEG (may be empty)
//
// All numbers little-endian.
const recordVersion = 1

// maxDim bounds an embedding's length (MobileFaceNet has 192).
const maxDim = 4096

// maxFace bounds a stored face image.
const maxFace = 1 << 20

var errRecord = errors.New("corrupt record")

func encodeSample(sm gallery.Sample) ([]byte, error) {
	return encodeRecord(sm.Quality, sm.Time, string(sm.Source), sm.Embedding, sm.Face)
}

func encodeRecord(q float32, t time.Time, src string, e frame.Embedding, face []byte) ([]byte, error) {
	switch {
	case len(src) > 255:
		return nil, fmt.Errorf("store: source %q too long", src)
	case e.Model == "" || len(e.Model) > 255:
		return nil, fmt.Errorf("store: embedding model %q empty or too long", e.Model)
	case len(e.Vector) == 0 || len(e.Vector) > maxDim:
		return nil, fmt.Errorf("store: embedding of %d values", len(e.Vector))
	case len(face) > maxFace:
		return nil, fmt.Errorf("store: face image of %d bytes, at most %d", len(face), maxFace)
	case math.IsNaN(float64(q)) || math.IsInf(float64(q), 0):
		return nil, fmt.Errorf("store: quality %v", q)
	}
	for _, v := range e.Vector {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, errors.New("store: embedding holds NaN or Inf")
		}
	}
	b := make([]byte, 0, 1+4+8+1+len(src)+1+len(e.Model)+2+4*len(e.Vector)+len(face))
	b = append(b, recordVersion)
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(q))
	b = binary.LittleEndian.AppendUint64(b, uint64(t.UnixNano()))
	b = append(b, byte(len(src)))
	b = append(b, src...)
	b = append(b, byte(len(e.Model)))
	b = append(b, e.Model...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(e.Vector)))
	for _, v := range e.Vector {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return append(b, face...), nil
}

// record is a decoded sample or ignored face. Vector and Face are copies,
// safe after the transaction ends; Face only when asked for.
type record struct {
	Quality float32
	Time    time.Time
	Source  string
	Emb     frame.Embedding
	Face    []byte
}

func decodeRecord(b []byte, withFace bool) (record, error) {
	var r record
	take := func(n int) ([]byte, bool) {
		if n < 0 || len(b) < n {
			return nil, false
		}
		v := b[:n]
		b = b[n:]
		return v, true
	}
	h, ok := take(1 + 4 + 8 + 1)
	if !ok || h[0] != recordVersion {
		return r, errRecord
	}
	r.Quality = math.Float32frombits(binary.LittleEndian.Uint32(h[1:]))
	r.Time = time.Unix(0, int64(binary.LittleEndian.Uint64(h[5:])))
	src, ok := take(int(h[13]))
	if !ok {
		return r, errRecord
	}
	r.Source = string(src)
	ml, ok := take(1)
	if !ok {
		return r, errRecord
	}
	model, ok := take(int(ml[0]))
	if !ok || len(model) == 0 {
		return r, errRecord
	}
	r.Emb.Model = string(model)
	dl, ok := take(2)
	if !ok {
		return r, errRecord
	}
	dim := int(binary.LittleEndian.Uint16(dl))
	vec, ok := take(4 * dim)
	if !ok || dim == 0 {
		return r, errRecord
	}
	r.Emb.Vector = make([]float32, dim)
	for i := range r.Emb.Vector {
		r.Emb.Vector[i] = math.Float32frombits(binary.LittleEndian.Uint32(vec[4*i:]))
	}
	if withFace && len(b) > 0 {
		r.Face = append([]byte(nil), b...)
	}
	return r, nil
}

func sortSamples(s []gallery.Sample) {
	slices.SortStableFunc(s, func(a, b gallery.Sample) int { return a.Time.Compare(b.Time) })
}
