// Package store keeps facegate's state in one bbolt file: people and their
// face samples, ignored faces, events, settings, users, sessions and API
// tokens. Every write is one transaction, so nothing is ever half-written,
// and a consistent backup can be taken while the daemon runs.
//
// It implements gallery.Store for pipeline/gallery. Only internal/app (and
// the CLI) import it; it imports bbolt, pipeline/gallery and pipeline/frame.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"facegate/pipeline/gallery"
)

// FileName is the store's file inside the state directory.
const FileName = "facegate.db"

// SchemaVersion is the layout this code writes. Older files are migrated
// on open; newer ones are refused.
const SchemaVersion = 2

// Errors.
var (
	// ErrNotFound: no such record (same value as gallery.ErrNotFound).
	ErrNotFound = gallery.ErrNotFound
	// ErrNameTaken: another person has this name (same as gallery.ErrNameTaken).
	ErrNameTaken = gallery.ErrNameTaken
	// ErrInUse: another process holds the store open.
	ErrInUse = errors.New("store already in use by another process")
	// ErrExists: a user or token that already exists.
	ErrExists = errors.New("already exists")
	// ErrInvalid: a file that is not a usable facegate store (a corrupt or
	// truncated backup, or one from a newer facegate).
	ErrInvalid = errors.New("not a valid facegate store")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store closed")
)

// Bucket names.
var (
	bMeta        = []byte("meta")
	bPeople      = []byte("people")  // person ID → JSON personRecord
	bNames       = []byte("names")   // NFC name → person ID (v2)
	bSamples     = []byte("samples") // person ID → bucket: sample ID → record
	bIgnored     = []byte("ignored") // ignored ID → record
	bEvents      = []byte("events")  // time key → JSON event
	bEventThumbs = []byte("event_thumbs")
	bEventIDs    = []byte("event_ids")  // event ID → time key (v2)
	bSettings    = []byte("settings")   // key → JSON
	bUsers       = []byte("users")      // username → JSON
	bSessions    = []byte("sessions")   // token hash → JSON
	bAPITokens   = []byte("api_tokens") // token hash → JSON (v2)

	kSchema = []byte("schema")
)

// bucketsV1 are the buckets of schema 1; v2 added names, event_ids and api_tokens.
var (
	bucketsV1 = [][]byte{bMeta, bPeople, bSamples, bIgnored, bEvents, bEventThumbs, bSettings, bUsers, bSessions}
	bucketsV2 = append(append([][]byte(nil), bucketsV1...), bNames, bEventIDs, bAPITokens)
)

// Options configure Open.
type Options struct {
	// Timeout is how long to wait for another process to release the file
	// (default 1 s); then Open fails with ErrInUse.
	Timeout time.Duration
	// ReadOnly opens without writing (shared lock); no migration is done.
	ReadOnly bool
	// NoSync skips fsync: for tests only, never for real state.
	NoSync bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Store is an open facegate store. Its methods are safe for concurrent use.
type Store struct {
	path string
	opt  Options

	mu sync.RWMutex // held shared by every operation, exclusively by Restore and Close
	db *bolt.DB     // nil once closed
}

// OpenDir opens (creating when needed) the store in state directory dir,
// which is created with mode 0700.
func OpenDir(dir string, opt Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: state directory: %w", err)
	}
	return Open(filepath.Join(dir, FileName), opt)
}

// Open opens (creating when needed) the store file at path, migrating an
// older schema.
func Open(path string, opt Options) (*Store, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Store{path: path, opt: opt}
	db, err := s.open(path)
	if err != nil {
		return nil, err
	}
	s.db = db
	return s, nil
}

func (s *Store) open(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: s.opt.Timeout, ReadOnly: s.opt.ReadOnly, NoSync: s.opt.NoSync})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("store: %s: %w (is facegate running? stop it, or use its web page)", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if s.opt.ReadOnly {
		err = db.View(func(tx *bolt.Tx) error {
			v, err := checkSchema(tx)
			if err == nil && v != SchemaVersion {
				err = fmt.Errorf("schema version %d needs migrating: open it once read-write", v)
			}
			return err
		})
	} else {
		err = db.Update(migrate)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return db, nil
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// Close closes the store; later calls do nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// view and update run fn in a read or write transaction, holding the
// store's shared lock so Restore cannot swap the file underneath.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return s.db.View(fn)
}

func (s *Store) update(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return s.db.Update(fn)
}

// schemaOf reads the schema version (0 for an empty file).
func schemaOf(tx *bolt.Tx) (uint64, error) {
	m := tx.Bucket(bMeta)
	if m == nil {
		if tx.Bucket(bPeople) != nil {
			return 0, fmt.Errorf("%w: no schema version", ErrInvalid)
		}
		return 0, nil
	}
	v := m.Get(kSchema)
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: bad schema key", ErrInvalid)
	}
	return binary.BigEndian.Uint64(v), nil
}

// checkSchema reports a file this code cannot use as it is.
func checkSchema(tx *bolt.Tx) (uint64, error) {
	v, err := schemaOf(tx)
	if err != nil {
		return 0, err
	}
	if v == 0 || v > SchemaVersion {
		return v, fmt.Errorf("%w: schema version %d, this facegate knows 1–%d", ErrInvalid, v, SchemaVersion)
	}
	return v, nil
}

func putSchema(tx *bolt.Tx, v uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return tx.Bucket(bMeta).Put(kSchema, b[:])
}

// migrations[i] takes a file from schema i to i+1.
var migrations = []func(*bolt.Tx) error{
	0: createV1,
	1: migrateV1toV2,
}

// migrate brings the file to SchemaVersion inside one transaction: a
// crash mid-migration leaves the old version intact.
func migrate(tx *bolt.Tx) error {
	v, err := schemaOf(tx)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: schema version %d is newer than this facegate's %d", ErrInvalid, v, SchemaVersion)
	}
	for ; v < SchemaVersion; v++ {
		if err := migrations[v](tx); err != nil {
			return fmt.Errorf("migrate schema %d → %d: %w", v, v+1, err)
		}
		if err := putSchema(tx, v+1); err != nil {
			return err
		}
	}
	return nil
}

func createV1(tx *bolt.Tx) error {
	for _, b := range bucketsV1 {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return nil
}

// migrateV1toV2 adds the name index (names unique after NFC), the event ID
// index and the API token bucket. Version-1 names are re-normalised; a
// name that collides with an earlier one gets a " (2)", " (3)" … suffix so
// no person is lost.
func migrateV1toV2(tx *bolt.Tx) error {
	names, err := tx.CreateBucketIfNotExists(bNames)
	if err != nil {
		return err
	}
	if _, err := tx.CreateBucketIfNotExists(bAPITokens); err != nil {
		return err
	}
	people := tx.Bucket(bPeople)
	type fix struct {
		id []byte
		p  personRecord
	}
	var fixes []fix
	err = people.ForEach(func(k, v []byte) error {
		p, err := decodePerson(v)
		if err != nil {
			return fmt.Errorf("person %s: %w", k, err)
		}
		n, err := gallery.NormalizeName(p.Name)
		if err != nil {
			n = "person " + string(k)
		}
		base := n
		for i := 2; names.Get([]byte(n)) != nil; i++ {
			n = fmt.Sprintf("%s (%d)", base, i)
		}
		if n != p.Name {
			p.Name = n
			fixes = append(fixes, fix{append([]byte(nil), k...), p})
		}
		return names.Put([]byte(n), append([]byte(nil), k...))
	})
	if err != nil {
		return err
	}
	for _, f := range fixes {
		if err := putPerson(people, string(f.id), f.p); err != nil {
			return err
		}
	}
	ids, err := tx.CreateBucketIfNotExists(bEventIDs)
	if err != nil {
		return err
	}
	return tx.Bucket(bEvents).ForEach(func(k, v []byte) error {
		e, err := decodeEvent(v)
		if err != nil {
			return fmt.Errorf("event %x: %w", k, err)
		}
		return ids.Put([]byte(e.ID), append([]byte(nil), k...))
	})
}
