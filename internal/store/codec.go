package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
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
//	crc       CRC-32C of everything above
//	face      JPEG (may be empty)
//	crc       CRC-32C of the face
//
// All numbers little-endian. bbolt checksums only its meta pages, so the
// CRCs are what catch a damaged backup whose damage falls inside a record:
// the vector's whenever the gallery loads, the face's when it is read.
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
	b := make([]byte, 0, 1+4+8+1+len(src)+1+len(e.Model)+2+4*len(e.Vector)+4+len(face)+4)
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
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	b = append(b, face...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(face, castagnoli)), nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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
	all := b
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
	head := all[:len(all)-len(b)]
	sum, ok := take(4)
	if !ok || binary.LittleEndian.Uint32(sum) != crc32.Checksum(head, castagnoli) {
		return r, fmt.Errorf("%w: checksum", errRecord)
	}
	if len(b) < 4 {
		return r, errRecord
	}
	r.Emb.Vector = make([]float32, dim)
	for i := range r.Emb.Vector {
		r.Emb.Vector[i] = math.Float32frombits(binary.LittleEndian.Uint32(vec[4*i:]))
	}
	if withFace {
		face := b[:len(b)-4]
		if binary.LittleEndian.Uint32(b[len(b)-4:]) != crc32.Checksum(face, castagnoli) {
			return r, fmt.Errorf("%w: face checksum", errRecord)
		}
		if len(face) > 0 {
			r.Face = append([]byte(nil), face...)
		}
	}
	return r, nil
}

func sortSamples(s []gallery.Sample) {
	slices.SortStableFunc(s, func(a, b gallery.Sample) int { return a.Time.Compare(b.Time) })
}
