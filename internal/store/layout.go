package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
)

// checkLayout verifies the page structure of a bbolt file held in b before
// bbolt itself reads it. bbolt trusts its pages: a damaged element offset
// makes it read outside the mapped file, which faults (and its consistency
// check runs in a goroutine of its own, where the fault cannot be turned
// into an error: the process dies). So every page reachable from the
// chosen meta page, every element and every key and value span is checked
// here with ordinary bounds-checked slices: after this, bbolt's reads stay
// inside the file.
//
// The layout (go.etcd.io/bbolt, file format 2): pages of pageSize bytes,
// each with a 16-byte header {id u64, flags u16, count u16, overflow u32};
// pages 0 and 1 are meta pages; branch elements are {pos, ksize u32, pgid
// u64} and leaf elements {flags, pos, ksize, vsize u32}, 16 bytes each,
// with pos relative to the element; a bucket's value starts with {root
// pgid, sequence u64}, root 0 meaning the bucket's leaf page follows
// inline.
func checkLayout(b []byte) error {
	m, err := chooseMeta(b)
	if err != nil {
		return err
	}
	l := layout{b: b, ps: m.pageSize, high: m.pgid, seen: map[uint64]bool{}}
	if uint64(len(b)) < l.high*l.ps {
		return fmt.Errorf("%w: truncated", ErrInvalid)
	}
	if m.freelist != noFreelist {
		if err := l.checkFreelist(m.freelist); err != nil {
			return err
		}
	}
	// Walk the tree with an explicit stack: a damaged file must not be able
	// to recurse without bound.
	stack := []uint64{m.root}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p, err := l.page(id)
		if err != nil {
			return err
		}
		more, err := l.checkNode(p, false)
		if err != nil {
			return fmt.Errorf("%w: page %d: %v", ErrInvalid, id, err)
		}
		stack = append(stack, more...)
	}
	return nil
}

const (
	pageHeader   = 16
	elemSize     = 16
	branchFlag   = 0x01
	leafFlag     = 0x02
	freelistFlag = 0x10
	bucketFlag   = 0x01
	noFreelist   = ^uint64(0)
	metaChecksum = 56 // offset of the checksum inside the meta, after the page header
)

type meta struct {
	pageSize, root, freelist, pgid, txid uint64
}

// chooseMeta picks the meta page bbolt would use: the valid one with the
// higher transaction id.
func chooseMeta(b []byte) (meta, error) {
	var best meta
	found := false
	if len(b) < pageHeader+metaChecksum+8 {
		return best, fmt.Errorf("%w: too short", ErrInvalid)
	}
	ps := uint64(binary.LittleEndian.Uint32(b[pageHeader+8:]))
	if ps < minBoltPage || ps > maxBoltPage || ps&(ps-1) != 0 {
		return best, fmt.Errorf("%w: page size %d", ErrInvalid, ps)
	}
	for i := uint64(0); i < 2; i++ {
		off := i * ps
		if uint64(len(b)) < off+pageHeader+metaChecksum+8 {
			continue
		}
		mb := b[off+pageHeader : off+pageHeader+metaChecksum+8]
		le := binary.LittleEndian
		if le.Uint32(mb) != boltMagic || le.Uint32(mb[4:]) != 2 || uint64(le.Uint32(mb[8:])) != ps {
			continue
		}
		h := fnv.New64a()
		h.Write(mb[:metaChecksum])
		if h.Sum64() != le.Uint64(mb[metaChecksum:]) {
			continue
		}
		m := meta{pageSize: ps, root: le.Uint64(mb[16:]), freelist: le.Uint64(mb[32:]), pgid: le.Uint64(mb[40:]), txid: le.Uint64(mb[48:])}
		if !found || m.txid > best.txid {
			best, found = m, true
		}
	}
	if !found {
		return best, fmt.Errorf("%w: no valid meta page", ErrInvalid)
	}
	if best.pgid < 3 || best.pgid > uint64(len(b))/ps+1 {
		return best, fmt.Errorf("%w: meta claims %d pages", ErrInvalid, best.pgid)
	}
	return best, nil
}

type layout struct {
	b        []byte
	ps, high uint64
	seen     map[uint64]bool
}

// page returns page id with its overflow pages, once.
func (l *layout) page(id uint64) ([]byte, error) {
	if id < 2 || id >= l.high {
		return nil, fmt.Errorf("%w: page id %d outside 2..%d", ErrInvalid, id, l.high-1)
	}
	if l.seen[id] {
		return nil, fmt.Errorf("%w: page %d reached twice", ErrInvalid, id)
	}
	l.seen[id] = true
	start := id * l.ps
	hdr := l.b[start : start+pageHeader]
	if binary.LittleEndian.Uint64(hdr) != id {
		return nil, fmt.Errorf("%w: page %d says it is %d", ErrInvalid, id, binary.LittleEndian.Uint64(hdr))
	}
	end := (id + 1 + uint64(binary.LittleEndian.Uint32(hdr[12:]))) * l.ps
	if end > l.high*l.ps {
		return nil, fmt.Errorf("%w: page %d overflows the file", ErrInvalid, id)
	}
	for o := id + 1; o*l.ps < end; o++ {
		l.seen[o] = true
	}
	return l.b[start:end], nil
}

// checkNode checks a branch or leaf page (or an inline bucket's page) and
// returns the pages it refers to.
func (l *layout) checkNode(p []byte, inline bool) ([]uint64, error) {
	if len(p) < pageHeader {
		return nil, fmt.Errorf("page shorter than its header")
	}
	flags := binary.LittleEndian.Uint16(p[8:])
	count := uint64(binary.LittleEndian.Uint16(p[10:]))
	if pageHeader+count*elemSize > uint64(len(p)) {
		return nil, fmt.Errorf("%d elements do not fit", count)
	}
	var next []uint64
	var prev []byte
	for i := uint64(0); i < count; i++ {
		e := pageHeader + i*elemSize
		el := p[e : e+elemSize]
		var key, val []byte
		switch {
		case flags == branchFlag && !inline:
			pos, ks := uint64(binary.LittleEndian.Uint32(el)), uint64(binary.LittleEndian.Uint32(el[4:]))
			if e+pos+ks > uint64(len(p)) {
				return nil, fmt.Errorf("branch key %d outside the page", i)
			}
			key = p[e+pos : e+pos+ks]
			next = append(next, binary.LittleEndian.Uint64(el[8:]))
		case flags == leafFlag:
			fl := binary.LittleEndian.Uint32(el)
			pos, ks, vs := uint64(binary.LittleEndian.Uint32(el[4:])), uint64(binary.LittleEndian.Uint32(el[8:])), uint64(binary.LittleEndian.Uint32(el[12:]))
			if e+pos+ks+vs > uint64(len(p)) {
				return nil, fmt.Errorf("leaf element %d outside the page", i)
			}
			key, val = p[e+pos:e+pos+ks], p[e+pos+ks:e+pos+ks+vs]
			if fl&bucketFlag != 0 {
				if len(val) < 16 {
					return nil, fmt.Errorf("bucket %q: short header", key)
				}
				if root := binary.LittleEndian.Uint64(val); root != 0 {
					next = append(next, root)
				} else {
					sub, err := l.checkNode(val[16:], true)
					if err != nil {
						return nil, fmt.Errorf("inline bucket %q: %v", key, err)
					}
					next = append(next, sub...)
				}
			}
		default:
			return nil, fmt.Errorf("not a branch or leaf page (flags %#x)", flags)
		}
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return nil, fmt.Errorf("keys out of order")
		}
		prev = key
	}
	return next, nil
}

func (l *layout) checkFreelist(id uint64) error {
	p, err := l.page(id)
	if err != nil {
		return err
	}
	if binary.LittleEndian.Uint16(p[8:]) != freelistFlag {
		return fmt.Errorf("%w: freelist page %d has flags %#x", ErrInvalid, id, binary.LittleEndian.Uint16(p[8:]))
	}
	idx, count := uint64(0), uint64(binary.LittleEndian.Uint16(p[10:]))
	if count == 0xffff {
		if len(p) < pageHeader+8 {
			return fmt.Errorf("%w: freelist page %d too short", ErrInvalid, id)
		}
		idx, count = 1, binary.LittleEndian.Uint64(p[pageHeader:])
	}
	if count > (uint64(len(p))-pageHeader)/8 || pageHeader+(idx+count)*8 > uint64(len(p)) {
		return fmt.Errorf("%w: freelist page %d: %d ids do not fit", ErrInvalid, id, count)
	}
	for i := idx; i < idx+count; i++ {
		if f := binary.LittleEndian.Uint64(p[pageHeader+i*8:]); f < 2 || f >= l.high {
			return fmt.Errorf("%w: freelist names page %d", ErrInvalid, f)
		}
	}
	return nil
}
