package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"facegate/pipeline/frame"
	"facegate/pipeline/gallery"
)

// personRecord is a person as stored (the ID is the key).
type personRecord struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	Samples int       `json:"samples"`
}

func decodePerson(v []byte) (personRecord, error) {
	var p personRecord
	if err := json.Unmarshal(v, &p); err != nil {
		return p, fmt.Errorf("%w: %v", errRecord, err)
	}
	return p, nil
}

func putPerson(b *bolt.Bucket, id string, p personRecord) error {
	v, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return b.Put([]byte(id), v)
}

func (p personRecord) person(id string) gallery.Person {
	return gallery.Person{ID: id, Name: p.Name, Created: p.Created, Updated: p.Updated, Samples: p.Samples}
}

func getPerson(tx *bolt.Tx, id string) (personRecord, error) {
	v := tx.Bucket(bPeople).Get([]byte(id))
	if v == nil {
		return personRecord{}, fmt.Errorf("store: person %q: %w", id, ErrNotFound)
	}
	return decodePerson(v)
}

// People lists every person (unordered).
func (s *Store) People() ([]gallery.Person, error) {
	var out []gallery.Person
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bPeople).ForEach(func(k, v []byte) error {
			p, err := decodePerson(v)
			if err != nil {
				return err
			}
			out = append(out, p.person(string(k)))
			return nil
		})
	})
	return out, err
}

// Person returns one person by ID.
func (s *Store) Person(id string) (gallery.Person, error) {
	var out gallery.Person
	err := s.view(func(tx *bolt.Tx) error {
		p, err := getPerson(tx, id)
		out = p.person(id)
		return err
	})
	return out, err
}

// PersonByName returns the person with this name (normalised first).
func (s *Store) PersonByName(name string) (gallery.Person, error) {
	n, err := gallery.NormalizeName(name)
	if err != nil {
		return gallery.Person{}, err
	}
	var out gallery.Person
	err = s.view(func(tx *bolt.Tx) error {
		id := tx.Bucket(bNames).Get([]byte(n))
		if id == nil {
			return fmt.Errorf("store: person named %q: %w", n, ErrNotFound)
		}
		p, err := getPerson(tx, string(id))
		out = p.person(string(id))
		return err
	})
	return out, err
}

// Load returns every person, sample (without face images) and ignored face.
func (s *Store) Load() (gallery.Data, error) {
	var d gallery.Data
	// A record that fails its checksum is left out and named in
	// d.Damaged: one bad sector must not keep the appliance from starting.
	err := s.view(func(tx *bolt.Tx) error {
		samples := tx.Bucket(bSamples)
		err := tx.Bucket(bPeople).ForEach(func(k, v []byte) error {
			p, err := decodePerson(v)
			if err != nil {
				d.Damaged = append(d.Damaged, fmt.Sprintf("person %s: %v", k, err))
				return nil
			}
			id := string(k)
			d.People = append(d.People, p.person(id))
			sb := samples.Bucket(k)
			if sb == nil {
				return nil
			}
			return sb.ForEach(func(sk, sv []byte) error {
				r, err := decodeRecord(sv, false)
				if err != nil {
					d.Damaged = append(d.Damaged, fmt.Sprintf("sample %s/%s: %v", k, sk, err))
					return nil
				}
				d.Samples = append(d.Samples, r.sample(id, string(sk)))
				return nil
			})
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bIgnored).ForEach(func(k, v []byte) error {
			r, err := decodeRecord(v, false)
			if err != nil {
				d.Damaged = append(d.Damaged, fmt.Sprintf("ignored %s: %v", k, err))
				return nil
			}
			d.Ignored = append(d.Ignored, gallery.Ignored{ID: string(k), Embedding: r.Emb, Time: r.Time})
			return nil
		})
	})
	if err != nil {
		return gallery.Data{}, fmt.Errorf("store: load gallery: %w", err)
	}
	return d, nil
}

func (r record) sample(personID, id string) gallery.Sample {
	return gallery.Sample{ID: id, PersonID: personID, Embedding: r.Emb, Face: r.Face,
		Quality: r.Quality, Source: gallery.Source(r.Source), Time: r.Time}
}

// putSamples stores samples under person id; IDs must be new.
func putSamples(tx *bolt.Tx, id string, samples []gallery.Sample) error {
	if len(samples) == 0 {
		return fmt.Errorf("store: no samples")
	}
	sb, err := tx.Bucket(bSamples).CreateBucketIfNotExists([]byte(id))
	if err != nil {
		return err
	}
	for i, sm := range samples {
		if sm.ID == "" || len(sm.ID) > 64 {
			return fmt.Errorf("store: sample %d: bad ID %q", i, sm.ID)
		}
		if sb.Get([]byte(sm.ID)) != nil {
			return fmt.Errorf("store: sample %s: %w", sm.ID, ErrExists)
		}
		v, err := encodeSample(sm)
		if err != nil {
			return fmt.Errorf("store: sample %d: %w", i, err)
		}
		if err := sb.Put([]byte(sm.ID), v); err != nil {
			return err
		}
	}
	return nil
}

// Enroll adds samples to the person called name, creating the person when
// absent (or failing with ErrNameTaken when mustBeNew). One transaction.
func (s *Store) Enroll(name string, mustBeNew bool, samples []gallery.Sample) (gallery.Person, bool, error) {
	n, err := gallery.NormalizeName(name)
	if err != nil {
		return gallery.Person{}, false, err
	}
	var out gallery.Person
	var created bool
	err = s.update(func(tx *bolt.Tx) error {
		now := s.opt.Now()
		names, people := tx.Bucket(bNames), tx.Bucket(bPeople)
		var id string
		var p personRecord
		if v := names.Get([]byte(n)); v != nil {
			if mustBeNew {
				return fmt.Errorf("store: %q: %w", n, ErrNameTaken)
			}
			id = string(v)
			if p, err = getPerson(tx, id); err != nil {
				return err
			}
		} else {
			id, created = gallery.NewID(), true
			for people.Get([]byte(id)) != nil {
				id = gallery.NewID()
			}
			p = personRecord{Name: n, Created: now}
			if err := names.Put([]byte(n), []byte(id)); err != nil {
				return err
			}
		}
		if err := putSamples(tx, id, samples); err != nil {
			return err
		}
		p.Samples += len(samples)
		p.Updated = now
		out = p.person(id)
		return putPerson(people, id, p)
	})
	if err != nil {
		return gallery.Person{}, false, err
	}
	return out, created, nil
}

// AddSamples adds samples to an existing person. One transaction.
func (s *Store) AddSamples(personID string, samples []gallery.Sample) (gallery.Person, error) {
	var out gallery.Person
	err := s.update(func(tx *bolt.Tx) error {
		p, err := getPerson(tx, personID)
		if err != nil {
			return err
		}
		if err := putSamples(tx, personID, samples); err != nil {
			return err
		}
		p.Samples += len(samples)
		p.Updated = s.opt.Now()
		out = p.person(personID)
		return putPerson(tx.Bucket(bPeople), personID, p)
	})
	return out, err
}

// Rename gives a person a new name, unique after NFC. One transaction.
func (s *Store) Rename(personID, name string) (gallery.Person, error) {
	n, err := gallery.NormalizeName(name)
	if err != nil {
		return gallery.Person{}, err
	}
	var out gallery.Person
	err = s.update(func(tx *bolt.Tx) error {
		p, err := getPerson(tx, personID)
		if err != nil {
			return err
		}
		names := tx.Bucket(bNames)
		if v := names.Get([]byte(n)); v != nil && string(v) != personID {
			return fmt.Errorf("store: %q: %w", n, ErrNameTaken)
		}
		if err := names.Delete([]byte(p.Name)); err != nil {
			return err
		}
		if err := names.Put([]byte(n), []byte(personID)); err != nil {
			return err
		}
		p.Name, p.Updated = n, s.opt.Now()
		out = p.person(personID)
		return putPerson(tx.Bucket(bPeople), personID, p)
	})
	return out, err
}

// DeletePerson removes a person and every sample of theirs. One
// transaction. Past events keep the name they were recorded with.
func (s *Store) DeletePerson(personID string) (gallery.Person, error) {
	var out gallery.Person
	err := s.update(func(tx *bolt.Tx) error {
		p, err := getPerson(tx, personID)
		if err != nil {
			return err
		}
		out = p.person(personID)
		if err := tx.Bucket(bNames).Delete([]byte(p.Name)); err != nil {
			return err
		}
		if tx.Bucket(bSamples).Bucket([]byte(personID)) != nil {
			if err := tx.Bucket(bSamples).DeleteBucket([]byte(personID)); err != nil {
				return err
			}
		}
		return tx.Bucket(bPeople).Delete([]byte(personID))
	})
	return out, err
}

// DeleteSample removes one sample; never a person's last. One transaction.
func (s *Store) DeleteSample(personID, sampleID string) (gallery.Person, error) {
	var out gallery.Person
	err := s.update(func(tx *bolt.Tx) error {
		p, err := getPerson(tx, personID)
		if err != nil {
			return err
		}
		sb := tx.Bucket(bSamples).Bucket([]byte(personID))
		if sb == nil || sb.Get([]byte(sampleID)) == nil {
			return fmt.Errorf("store: sample %q of %q: %w", sampleID, personID, ErrNotFound)
		}
		if p.Samples <= 1 {
			return fmt.Errorf("store: %w", gallery.ErrLastSample)
		}
		if err := sb.Delete([]byte(sampleID)); err != nil {
			return err
		}
		p.Samples--
		p.Updated = s.opt.Now()
		out = p.person(personID)
		return putPerson(tx.Bucket(bPeople), personID, p)
	})
	return out, err
}

// Samples lists a person's samples with their face JPEGs, oldest first.
func (s *Store) Samples(personID string) ([]gallery.Sample, error) {
	var out []gallery.Sample
	err := s.view(func(tx *bolt.Tx) error {
		if _, err := getPerson(tx, personID); err != nil {
			return err
		}
		sb := tx.Bucket(bSamples).Bucket([]byte(personID))
		if sb == nil {
			return nil
		}
		return sb.ForEach(func(k, v []byte) error {
			r, err := decodeRecord(v, true)
			if err != nil {
				return fmt.Errorf("sample %s: %w", k, err)
			}
			out = append(out, r.sample(personID, string(k)))
			return nil
		})
	})
	sortSamples(out)
	return out, err
}

// SampleFace returns the face JPEG of one sample.
func (s *Store) SampleFace(personID, sampleID string) ([]byte, error) {
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		sb := tx.Bucket(bSamples).Bucket([]byte(personID))
		var v []byte
		if sb != nil {
			v = sb.Get([]byte(sampleID))
		}
		if v == nil {
			return fmt.Errorf("store: sample %q of %q: %w", sampleID, personID, ErrNotFound)
		}
		r, err := decodeRecord(v, true)
		out = r.Face
		return err
	})
	return out, err
}

// AddIgnored stores a face marked "not a person". One transaction.
func (s *Store) AddIgnored(ig gallery.Ignored) error {
	if ig.ID == "" || len(ig.ID) > 64 {
		return fmt.Errorf("store: bad ignored ID %q", ig.ID)
	}
	v, err := encodeRecord(0, ig.Time, "", frame.Embedding{Vector: ig.Embedding.Vector, Model: ig.Embedding.Model}, nil)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bIgnored)
		if b.Get([]byte(ig.ID)) != nil {
			return fmt.Errorf("store: ignored %s: %w", ig.ID, ErrExists)
		}
		return b.Put([]byte(ig.ID), v)
	})
}

// DeleteIgnored removes an ignored face. One transaction.
func (s *Store) DeleteIgnored(id string) error {
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bIgnored)
		if b.Get([]byte(id)) == nil {
			return fmt.Errorf("store: ignored %q: %w", id, ErrNotFound)
		}
		return b.Delete([]byte(id))
	})
}

// Ignored lists the ignored faces.
func (s *Store) Ignored() ([]gallery.Ignored, error) {
	var out []gallery.Ignored
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bIgnored).ForEach(func(k, v []byte) error {
			r, err := decodeRecord(v, false)
			if err != nil {
				return err
			}
			out = append(out, gallery.Ignored{ID: string(k), Embedding: r.Emb, Time: r.Time})
			return nil
		})
	})
	return out, err
}

var _ gallery.Store = (*Store)(nil)
