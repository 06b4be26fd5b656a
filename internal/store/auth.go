package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// User is a web user. PasswordHash is opaque here: internal/web chooses
// the KDF and its encoding.
type User struct {
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash"`
	Admin        bool      `json:"admin"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
}

// Session is a login session, keyed by the hash of its token (the token
// itself is never stored).
type Session struct {
	TokenHash []byte    `json:"-"`
	User      string    `json:"user"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
}

// APIToken is a bearer token for automations, keyed by its hash.
type APIToken struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	User      string    `json:"user"`
	TokenHash []byte    `json:"-"`
	Created   time.Time `json:"created"`
}

const maxKey = 256

func checkKey(what string, k []byte) error {
	if len(k) == 0 || len(k) > maxKey {
		return fmt.Errorf("store: %s key of %d bytes", what, len(k))
	}
	return nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

// --- settings ---

// Setting decodes the JSON value stored under key into v.
func (s *Store) Setting(key string, v any) error {
	return s.view(func(tx *bolt.Tx) error {
		data := tx.Bucket(bSettings).Get([]byte(key))
		if data == nil {
			return fmt.Errorf("store: setting %q: %w", key, ErrNotFound)
		}
		return json.Unmarshal(data, v)
	})
}

// PutSetting stores v as JSON under key. One transaction.
func (s *Store) PutSetting(key string, v any) error {
	if err := checkKey("setting", []byte(key)); err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: setting %q: %w", key, err)
	}
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bSettings).Put([]byte(key), data) })
}

// DeleteSetting removes a setting (absent is not an error).
func (s *Store) DeleteSetting(key string) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bSettings).Delete([]byte(key)) })
}

// Settings returns every setting as raw JSON.
func (s *Store) Settings() (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bSettings).ForEach(func(k, v []byte) error {
			out[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	return out, err
}

// --- users ---

func (u User) check() error {
	if err := checkKey("user", []byte(u.Name)); err != nil {
		return err
	}
	if u.PasswordHash == "" {
		return fmt.Errorf("store: user %q without password hash", u.Name)
	}
	return nil
}

// CreateUser adds a new user; ErrExists when the name is taken.
func (s *Store) CreateUser(u User) error { return s.createUser(u, false) }

// CreateFirstUser adds u only when there is no user at all (first-start
// setup): of two racing setups exactly one wins, the other gets ErrExists.
func (s *Store) CreateFirstUser(u User) error { return s.createUser(u, true) }

func (s *Store) createUser(u User, first bool) error {
	if err := u.check(); err != nil {
		return err
	}
	now := s.opt.Now()
	if u.Created.IsZero() {
		u.Created = now
	}
	u.Updated = now
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bUsers)
		if first {
			if k, _ := b.Cursor().First(); k != nil {
				return fmt.Errorf("store: a user already exists: %w", ErrExists)
			}
		}
		if b.Get([]byte(u.Name)) != nil {
			return fmt.Errorf("store: user %q: %w", u.Name, ErrExists)
		}
		return putJSON(b, []byte(u.Name), u)
	})
}

// UpdateUser replaces an existing user (e.g. a new password hash).
func (s *Store) UpdateUser(u User) error {
	if err := u.check(); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bUsers)
		old := b.Get([]byte(u.Name))
		if old == nil {
			return fmt.Errorf("store: user %q: %w", u.Name, ErrNotFound)
		}
		var prev User
		if err := json.Unmarshal(old, &prev); err == nil {
			u.Created = prev.Created
		}
		u.Updated = s.opt.Now()
		return putJSON(b, []byte(u.Name), u)
	})
}

// User returns one user.
func (s *Store) User(name string) (User, error) {
	var u User
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bUsers).Get([]byte(name))
		if v == nil {
			return fmt.Errorf("store: user %q: %w", name, ErrNotFound)
		}
		return json.Unmarshal(v, &u)
	})
	return u, err
}

// Users lists every user, by name.
func (s *Store) Users() ([]User, error) {
	var out []User
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bUsers).ForEach(func(_, v []byte) error {
			var u User
			if err := json.Unmarshal(v, &u); err != nil {
				return err
			}
			out = append(out, u)
			return nil
		})
	})
	return out, err
}

// UserCount returns the number of users (0 before first-start setup).
func (s *Store) UserCount() (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bUsers).Stats().KeyN
		return nil
	})
	return n, err
}

// DeleteUser removes a user with their sessions and API tokens, in one
// transaction.
func (s *Store) DeleteUser(name string) error {
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bUsers)
		if b.Get([]byte(name)) == nil {
			return fmt.Errorf("store: user %q: %w", name, ErrNotFound)
		}
		if err := deleteWhere(tx.Bucket(bSessions), func(v []byte) bool {
			var ss Session
			return json.Unmarshal(v, &ss) == nil && ss.User == name
		}); err != nil {
			return err
		}
		if err := deleteWhere(tx.Bucket(bAPITokens), func(v []byte) bool {
			var t APIToken
			return json.Unmarshal(v, &t) == nil && t.User == name
		}); err != nil {
			return err
		}
		return b.Delete([]byte(name))
	})
}

// deleteWhere deletes every key of b whose value satisfies match.
func deleteWhere(b *bolt.Bucket, match func(v []byte) bool) error {
	var keys [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if match(v) {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// --- sessions ---

// PutSession stores a session under its token hash.
func (s *Store) PutSession(ss Session) error {
	if err := checkKey("session", ss.TokenHash); err != nil {
		return err
	}
	if ss.User == "" || ss.Expires.IsZero() {
		return fmt.Errorf("store: session without user or expiry")
	}
	if ss.Created.IsZero() {
		ss.Created = s.opt.Now()
	}
	return s.update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bSessions), ss.TokenHash, ss) })
}

// Session returns the unexpired session with this token hash; an expired
// one is ErrNotFound.
func (s *Store) Session(tokenHash []byte) (Session, error) {
	var ss Session
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bSessions).Get(tokenHash)
		if v == nil {
			return fmt.Errorf("store: session: %w", ErrNotFound)
		}
		if err := json.Unmarshal(v, &ss); err != nil {
			return err
		}
		if !s.opt.Now().Before(ss.Expires) {
			return fmt.Errorf("store: session expired: %w", ErrNotFound)
		}
		ss.TokenHash = bytes.Clone(tokenHash)
		return nil
	})
	return ss, err
}

// DeleteSession removes a session (logout); absent is not an error.
func (s *Store) DeleteSession(tokenHash []byte) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bSessions).Delete(tokenHash) })
}

// DeleteUserSessions removes every session of a user (password change).
func (s *Store) DeleteUserSessions(user string) error {
	return s.update(func(tx *bolt.Tx) error {
		return deleteWhere(tx.Bucket(bSessions), func(v []byte) bool {
			var ss Session
			return json.Unmarshal(v, &ss) == nil && ss.User == user
		})
	})
}

// PruneSessions removes expired sessions and returns how many.
func (s *Store) PruneSessions() (int, error) {
	now := s.opt.Now()
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		return deleteWhere(tx.Bucket(bSessions), func(v []byte) bool {
			var ss Session
			if json.Unmarshal(v, &ss) != nil || !now.Before(ss.Expires) {
				n++
				return true
			}
			return false
		})
	})
	return n, err
}

// --- API tokens ---

// PutAPIToken stores a new API token under its hash.
func (s *Store) PutAPIToken(t APIToken) error {
	if err := checkKey("token", t.TokenHash); err != nil {
		return err
	}
	if t.ID == "" || t.User == "" {
		return fmt.Errorf("store: API token without ID or user")
	}
	if t.Created.IsZero() {
		t.Created = s.opt.Now()
	}
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAPITokens)
		if b.Get(t.TokenHash) != nil {
			return fmt.Errorf("store: API token: %w", ErrExists)
		}
		dup := false
		_ = b.ForEach(func(_, v []byte) error {
			var o APIToken
			if json.Unmarshal(v, &o) == nil && o.ID == t.ID {
				dup = true
			}
			return nil
		})
		if dup {
			return fmt.Errorf("store: API token %q: %w", t.ID, ErrExists)
		}
		return putJSON(b, t.TokenHash, t)
	})
}

// APITokenByHash returns the token with this hash.
func (s *Store) APITokenByHash(hash []byte) (APIToken, error) {
	var t APIToken
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bAPITokens).Get(hash)
		if v == nil {
			return fmt.Errorf("store: API token: %w", ErrNotFound)
		}
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		t.TokenHash = bytes.Clone(hash)
		return nil
	})
	return t, err
}

// APITokens lists the API tokens (hashes included; never the tokens).
func (s *Store) APITokens() ([]APIToken, error) {
	var out []APIToken
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bAPITokens).ForEach(func(k, v []byte) error {
			var t APIToken
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			t.TokenHash = bytes.Clone(k)
			out = append(out, t)
			return nil
		})
	})
	return out, err
}

// DeleteAPIToken revokes the token with this ID.
func (s *Store) DeleteAPIToken(id string) error {
	return s.update(func(tx *bolt.Tx) error {
		found := false
		err := deleteWhere(tx.Bucket(bAPITokens), func(v []byte) bool {
			var t APIToken
			if json.Unmarshal(v, &t) == nil && t.ID == id {
				found = true
				return true
			}
			return false
		})
		if err == nil && !found {
			err = fmt.Errorf("store: API token %q: %w", id, ErrNotFound)
		}
		return err
	})
}
