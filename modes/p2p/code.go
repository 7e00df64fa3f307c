package p2p

import "errors"

// Code is a parsed NUMBER-WORD-WORD code: the nameplate picks the rendezvous
// slot, the words carry the secret.
type Code struct {
	Nameplate string
	Words     []string
}

// String formats c as NUMBER-WORD-WORD.
func (c Code) String() string { return "" }

// NewCode returns a code for nameplate with fresh random words.
func NewCode(nameplate string) (Code, error) {
	return Code{}, errors.New("p2p: NewCode not implemented")
}

// ParseCode parses and validates s (NUMBER-WORD-WORD, words from the list).
func ParseCode(s string) (Code, error) { return Code{}, errors.New("p2p: ParseCode not implemented") }
