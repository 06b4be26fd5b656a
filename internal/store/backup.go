package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// WriteTo writes a consistent copy of the whole store to w. It runs in a
// read transaction, so the daemon keeps recognising and writing meanwhile.
func (s *Store) WriteTo(w io.Writer) (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// BackupFile writes a consistent copy of the store to path, atomically: a
// temporary file beside it is synced and renamed over path.
func (s *Store) BackupFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := s.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// MaxBackupSize bounds a backup accepted by Restore.
const MaxBackupSize = 1 << 30

// RestoreFile replaces the store's content with the backup at path; see
// Restore.
func (s *Store) RestoreFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: restore: %w", err)
	}
	defer f.Close()
	return s.Restore(f)
}

// Restore replaces the store's content with the backup read from r. The
// backup is first copied beside the live file and validated (bbolt's page
// check, the schema version, the buckets and every person and sample
// record); a corrupt, truncated or foreign file is refused with ErrInvalid
// and the live store is untouched. Then the copy replaces the live file by
// an atomic rename and is reopened (and migrated if older).
func (s *Store) Restore(r io.Reader) error {
	if s.opt.ReadOnly {
		return errors.New("store: restore: opened read-only")
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".restore-*")
	if err != nil {
		return fmt.Errorf("store: restore: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // after a successful rename, a no-op
	n, err := io.Copy(tmp, io.LimitReader(r, MaxBackupSize+1))
	if err == nil && n > MaxBackupSize {
		err = fmt.Errorf("%w: larger than %d bytes", ErrInvalid, MaxBackupSize)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: restore: %w", err)
	}
	if err := Validate(tmpName); err != nil {
		return fmt.Errorf("store: restore refused: %w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return ErrClosed
	}
	// Keep the live file reachable under another name until the restored
	// one has opened, so a failure can put it back.
	prev := s.path + ".before-restore"
	_ = os.Remove(prev)
	if err := os.Link(s.path, prev); err != nil {
		return fmt.Errorf("store: restore: keep the live store: %w", err)
	}
	defer os.Remove(prev)
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: restore: close: %w", err)
	}
	s.db = nil
	if err := os.Rename(tmpName, s.path); err != nil {
		return s.reopenAfter(fmt.Errorf("store: restore: %w", err))
	}
	_ = syncDir(dir)
	db, err := s.open(s.path)
	if err != nil {
		// put the old store back
		if rerr := os.Rename(prev, s.path); rerr != nil {
			return fmt.Errorf("store: restore: reopen failed (%v) and the old store could not be put back: %w", err, rerr)
		}
		return s.reopenAfter(fmt.Errorf("store: restore: %w", err))
	}
	s.db = db
	return nil
}

// reopenAfter reopens the live file after a failed restore step and
// returns cause.
func (s *Store) reopenAfter(cause error) error {
	db, err := s.open(s.path)
	if err != nil {
		return fmt.Errorf("%w; reopening the store also failed: %v", cause, err)
	}
	s.db = db
	return cause
}

// Validate checks that path is a usable facegate store without changing it:
// its size covers every page its meta pages claim (a truncated copy would
// otherwise fault when read), bbolt's consistency check passes, the schema
// version is one this code knows, the buckets of that version exist and
// every person and sample record decodes.
func Validate(path string) (err error) {
	if err := checkSize(path); err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// A damaged file can make bbolt panic, or fault on a page outside the
	// mapping: checkLayout rules out the second, and both are turned into
	// an error here rather than crashing the daemon.
	done := make(chan error, 1)
	go func() {
		debug.SetPanicOnFault(true)
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("%w: %v", ErrInvalid, r)
			}
		}()
		if err := checkLayout(data); err != nil {
			done <- err
			return
		}
		done <- validateOpen(path)
	}()
	return <-done
}

// bbolt's meta page: a 16-byte page header, then magic, version, page size,
// flags (4 bytes each), the root bucket (16), freelist page (8), high-water
// page id (8), txid (8), checksum (8).
const (
	boltMagic      = 0xED0CDAED
	metaOff        = 16
	metaPgidOff    = metaOff + 16 + 16 + 8
	minBoltPage    = 512
	maxBoltPage    = 64 << 10
	boltMetaLength = metaPgidOff + 8
)

func checkSize(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := make([]byte, boltMetaLength)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return fmt.Errorf("%w: too short to be a store (%d bytes)", ErrInvalid, st.Size())
	}
	if binary.LittleEndian.Uint32(hdr[metaOff:]) != boltMagic {
		return fmt.Errorf("%w: not a bbolt file", ErrInvalid)
	}
	ps := int64(binary.LittleEndian.Uint32(hdr[metaOff+8:]))
	if ps < minBoltPage || ps > maxBoltPage || ps&(ps-1) != 0 {
		return fmt.Errorf("%w: page size %d", ErrInvalid, ps)
	}
	for i := int64(0); i < 2; i++ {
		m := make([]byte, boltMetaLength)
		if _, err := f.ReadAt(m, i*ps); err != nil {
			return fmt.Errorf("%w: truncated meta page %d", ErrInvalid, i)
		}
		if binary.LittleEndian.Uint32(m[metaOff:]) != boltMagic {
			continue // bbolt falls back to the other meta page
		}
		if need := int64(binary.LittleEndian.Uint64(m[metaPgidOff:])) * ps; st.Size() < need {
			return fmt.Errorf("%w: truncated: %d bytes, its pages need %d", ErrInvalid, st.Size(), need)
		}
	}
	return nil
}

func validateOpen(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() { // drain: the checker blocks on every error
			if first == nil {
				first = fmt.Errorf("%w: %v", ErrInvalid, err)
			}
		}
		if first != nil {
			return first
		}
		v, err := checkSchema(tx)
		if err != nil {
			return err
		}
		want := bucketsV2
		if v == 1 {
			want = bucketsV1
		}
		for _, b := range want {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("%w: bucket %q missing", ErrInvalid, b)
			}
		}
		samples := tx.Bucket(bSamples)
		return tx.Bucket(bPeople).ForEach(func(k, v []byte) error {
			p, err := decodePerson(v)
			if err != nil {
				return fmt.Errorf("%w: person %s: %v", ErrInvalid, k, err)
			}
			sb := samples.Bucket(k)
			n := 0
			if sb != nil {
				err = sb.ForEach(func(sk, sv []byte) error {
					n++
					if _, err := decodeRecord(sv, true); err != nil {
						return fmt.Errorf("%w: sample %s/%s: %v", ErrInvalid, k, sk, err)
					}
					return nil
				})
			}
			if err == nil && n != p.Samples {
				err = fmt.Errorf("%w: person %s has %d samples, record says %d", ErrInvalid, k, n, p.Samples)
			}
			return err
		})
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
