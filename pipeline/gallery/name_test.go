package gallery

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestNormalizeName(t *testing.T) {
	long := strings.Repeat("민", 64)
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"김민수", "김민수", true},
		{norm.NFD.String("김민수"), "김민수", true}, // decomposed jamo compose
		{"  Zoë \t", "Zoë", true},
		{norm.NFD.String("Zoë"), "Zoë", true},
		{"Anne Marie", "Anne Marie", true},
		{long, long, true},
		{long + "수", "", false},
		{"", "", false},
		{" \t\n", "", false},
		{"a\nb", "", false},
		{"a\x00b", "", false},
		{"a\u200bb", "", false}, // zero-width space
		{"a\u202eb", "", false}, // right-to-left override
		{"\xff\xfe", "", false},
	} {
		got, err := NormalizeName(c.in)
		if c.ok != (err == nil) || got != c.want {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && !errors.Is(err, ErrBadName) {
			t.Errorf("NormalizeName(%q): %v is not ErrBadName", c.in, err)
		}
	}
	if got, _ := NormalizeName("김민수"); string([]byte(got)) != "\xea\xb9\x80\xeb\xaf\xbc\xec\x88\x98" {
		t.Fatalf("김민수 is not byte-exact: % x", got)
	}
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"김민수", "Zoë", " a ", "\u200b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeName(s)
		if err != nil {
			return
		}
		if again, err := NormalizeName(n); err != nil || again != n {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, n, again, err)
		}
		if c := utf8.RuneCountInString(n); c < 1 || c > MaxNameRunes || !norm.NFC.IsNormalString(n) {
			t.Fatalf("%q: %d runes, NFC %v", n, c, norm.NFC.IsNormalString(n))
		}
	})
}
