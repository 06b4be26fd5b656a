package store

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestSettings(t *testing.T) {
	s := openTest(t)
	type rec struct {
		Threshold float64 `json:"threshold"`
	}
	var got rec
	if err := s.Setting("recognition", &got); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent setting: %v", err)
	}
	if err := s.PutSetting("recognition", rec{0.55}); err != nil {
		t.Fatal(err)
	}
	if err := s.Setting("recognition", &got); err != nil || got.Threshold != 0.55 {
		t.Fatalf("got %+v %v", got, err)
	}
	all, err := s.Settings()
	if err != nil || string(all["recognition"]) != `{"threshold":0.55}` {
		t.Fatalf("settings %q %v", all, err)
	}
	if err := s.PutSetting("", 1); err == nil {
		t.Fatal("empty key accepted")
	}
	if err := s.DeleteSetting("recognition"); err != nil {
		t.Fatal(err)
	}
	if err := s.Setting("recognition", &got); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted setting: %v", err)
	}
}

func TestUsersSessionsTokens(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, err := OpenDir(t.TempDir(), Options{NoSync: true, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// first-start setup: of many racing setups exactly one wins
	var wg sync.WaitGroup
	wins := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := User{Name: "admin", PasswordHash: string(rune('a' + i)), Admin: true}
			if err := s.CreateFirstUser(u); err == nil {
				wins <- u.PasswordHash
			} else if !errors.Is(err, ErrExists) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	if len(wins) != 1 {
		t.Fatalf("%d first users created", len(wins))
	}
	if n, _ := s.UserCount(); n != 1 {
		t.Fatalf("%d users", n)
	}
	if err := s.CreateFirstUser(User{Name: "eve", PasswordHash: "x"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second first user: %v", err)
	}
	if err := s.CreateUser(User{Name: "bob", PasswordHash: "h1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(User{Name: "bob", PasswordHash: "h2"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate user: %v", err)
	}
	if err := s.CreateUser(User{Name: "nohash"}); err == nil {
		t.Fatal("user without hash accepted")
	}
	if err := s.UpdateUser(User{Name: "bob", PasswordHash: "h3"}); err != nil {
		t.Fatal(err)
	}
	if u, err := s.User("bob"); err != nil || u.PasswordHash != "h3" || u.Created.IsZero() {
		t.Fatalf("updated user %+v %v", u, err)
	}

	if err := s.PutSession(Session{TokenHash: []byte("s1"), User: "bob", Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSession(Session{TokenHash: []byte("s2"), User: "bob", Expires: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if ss, err := s.Session([]byte("s1")); err != nil || ss.User != "bob" {
		t.Fatalf("session %+v %v", ss, err)
	}
	if _, err := s.Session([]byte("s2")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	if n, err := s.PruneSessions(); err != nil || n != 1 {
		t.Fatalf("pruned %d %v", n, err)
	}
	if err := s.PutAPIToken(APIToken{ID: "t1", Name: "hass", User: "bob", TokenHash: []byte("th1")}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAPIToken(APIToken{ID: "t1", User: "bob", TokenHash: []byte("th2")}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate token ID: %v", err)
	}
	if tok, err := s.APITokenByHash([]byte("th1")); err != nil || tok.Name != "hass" {
		t.Fatalf("token %+v %v", tok, err)
	}
	// deleting a user ends their sessions and tokens in the same transaction
	if err := s.DeleteUser("bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session([]byte("s1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session of deleted user: %v", err)
	}
	if toks, _ := s.APITokens(); len(toks) != 0 {
		t.Fatalf("tokens of deleted user: %+v", toks)
	}
	if err := s.DeleteAPIToken("t1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete missing token: %v", err)
	}
}
