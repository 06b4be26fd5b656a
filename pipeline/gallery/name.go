package gallery

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxNameRunes is the longest name accepted, in characters (runes).
const MaxNameRunes = 64

// ErrBadName marks a name that NormalizeName refuses.
var ErrBadName = errors.New("invalid name")

// NormalizeName returns the stored form of a person's name: trimmed of
// surrounding white space and in Unicode NFC, so that a name typed on a phone
// (often decomposed Hangul or accents) and the same name typed on a laptop
// compare equal. It refuses invalid UTF-8, control and other invisible
// format characters, and lengths outside 1–64 characters.
func NormalizeName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrBadName)
	}
	s = norm.NFC.String(strings.TrimSpace(s))
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", fmt.Errorf("%w: empty", ErrBadName)
	}
	if n > MaxNameRunes {
		return "", fmt.Errorf("%w: %d characters, at most %d", ErrBadName, n, MaxNameRunes)
	}
	for _, r := range s {
		// Cc are control characters (newlines, escapes); Cf are invisible
		// format characters (zero-width space, bidi overrides) that would let
		// two different-looking names compare unequal or spoof each other.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", fmt.Errorf("%w: contains control or format character %U", ErrBadName, r)
		}
	}
	return s, nil
}
