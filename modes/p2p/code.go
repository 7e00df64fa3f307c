package p2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
)

// Code is a parsed NUMBER-WORD-WORD code: the nameplate picks the rendezvous
// slot, the words carry the secret.
type Code struct {
	Nameplate string
	Words     []string
}

// maxNameplateDigits bounds a nameplate: a rendezvous hands out short
// numbers, an MQTT client picks a random one of at most this many digits.
const maxNameplateDigits = 8

// String formats c as NUMBER-WORD-WORD.
func (c Code) String() string {
	return strings.Join(append([]string{c.Nameplate}, c.Words...), "-")
}

// NewCode returns a code for nameplate with fresh random words: the first
// from the PGP list's even table, the second from its odd table.
func NewCode(nameplate string) (Code, error) {
	if err := ValidateNameplate(nameplate); err != nil {
		return Code{}, err
	}
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Code{}, fmt.Errorf("random words: %w", err)
	}
	return Code{Nameplate: nameplate, Words: []string{evenWords[b[0]], oddWords[b[1]]}}, nil
}

// ValidateNameplate checks that s is a nameplate: a decimal number of 1 to 8
// digits without a leading zero.
func ValidateNameplate(s string) error {
	if s == "" || len(s) > maxNameplateDigits || s[0] == '0' {
		return fmt.Errorf("bad nameplate %q: want a number from 1 to 99999999", s)
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return fmt.Errorf("bad nameplate %q: want a number from 1 to 99999999", s)
		}
	}
	return nil
}

// errCodeShape is the usage hint for a code that is not NUMBER-WORD-WORD.
var errCodeShape = errors.New("want NUMBER-WORD-WORD, for example 7-aardvark-adroitness")

// ParseCode parses and validates s (NUMBER-WORD-WORD, words from the list).
// Case and surrounding space are ignored; spaces may stand for dashes.
func ParseCode(s string) (Code, error) {
	norm := strings.ToLower(strings.TrimSpace(s))
	parts := strings.FieldsFunc(norm, func(r rune) bool { return r == '-' || r == ' ' })
	if len(parts) != 3 {
		return Code{}, fmt.Errorf("bad code %q: %w", s, errCodeShape)
	}
	if err := ValidateNameplate(parts[0]); err != nil {
		return Code{}, fmt.Errorf("bad code %q: %w", s, err)
	}
	first, second := parts[1], parts[2]
	_, e1 := wordIndex(evenWords[:], first)
	_, o2 := wordIndex(oddWords[:], second)
	if e1 && o2 {
		return Code{Nameplate: parts[0], Words: []string{first, second}}, nil
	}
	if _, o1 := wordIndex(oddWords[:], first); o1 {
		if _, e2 := wordIndex(evenWords[:], second); e2 {
			return Code{}, fmt.Errorf("bad code %q: the two words are swapped", s)
		}
	}
	for _, w := range []string{first, second} {
		_, inE := wordIndex(evenWords[:], w)
		_, inO := wordIndex(oddWords[:], w)
		if !inE && !inO {
			return Code{}, fmt.Errorf("bad code %q: %q is not a code word (check the spelling)", s, w)
		}
	}
	return Code{}, fmt.Errorf("bad code %q: %w", s, errCodeShape)
}

func wordIndex(list []string, w string) (int, bool) {
	for i, x := range list {
		if x == w {
			return i, true
		}
	}
	return -1, false
}
