package p2p

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWordLists(t *testing.T) {
	seen := map[string]bool{}
	for _, w := range append(evenWords[:], oddWords[:]...) {
		if w == "" || w != strings.ToLower(w) || strings.ContainsAny(w, "- ") {
			t.Errorf("bad word %q", w)
		}
		if seen[w] {
			t.Errorf("duplicate word %q", w)
		}
		seen[w] = true
	}
	if len(seen) != 512 {
		t.Errorf("%d distinct words, want 512", len(seen))
	}
}

func TestParseCode(t *testing.T) {
	tests := []struct {
		in      string
		want    Code
		wantErr string
	}{
		{"7-aardvark-adroitness", Code{"7", []string{"aardvark", "adroitness"}}, ""},
		{"  42-Zulu-YUCATAN\n", Code{"42", []string{"zulu", "yucatan"}}, ""},
		{"123 pluto jupiter", Code{"123", []string{"pluto", "jupiter"}}, ""},
		{"7-adroitness-aardvark", Code{}, "swapped"},
		{"7-aardvark-aardvark", Code{}, "NUMBER-WORD-WORD"},
		{"7-aardvark-notaword", Code{}, `"notaword" is not a code word`},
		{"7-aardvark", Code{}, "NUMBER-WORD-WORD"},
		{"7-aardvark-adroitness-x", Code{}, "NUMBER-WORD-WORD"},
		{"07-aardvark-adroitness", Code{}, "bad nameplate"},
		{"x-aardvark-adroitness", Code{}, "bad nameplate"},
		{"123456789-aardvark-adroitness", Code{}, "bad nameplate"},
		{"", Code{}, "NUMBER-WORD-WORD"},
	}
	for _, tt := range tests {
		got, err := ParseCode(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseCode(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseCode(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseCode(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestNewCodeRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		c, err := NewCode("17")
		if err != nil {
			t.Fatal(err)
		}
		s := c.String()
		if !strings.HasPrefix(s, "17-") {
			t.Fatalf("code %q does not start with the nameplate", s)
		}
		back, err := ParseCode(s)
		if err != nil {
			t.Fatalf("ParseCode(%q): %v", s, err)
		}
		if diff := cmp.Diff(c, back); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		seen[s] = true
	}
	if len(seen) < 150 {
		t.Errorf("only %d distinct codes in 200: words are not random", len(seen))
	}
	if _, err := NewCode("0"); err == nil {
		t.Error("NewCode(\"0\") succeeded")
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"7-aardvark-adroitness", "1 zulu yucatan", "", "-", "9999-x-y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCode(s)
		if err != nil {
			return
		}
		back, err := ParseCode(c.String())
		if err != nil {
			t.Fatalf("ParseCode(%q) ok but its String %q does not parse: %v", s, c.String(), err)
		}
		if back.String() != c.String() {
			t.Fatalf("round trip %q -> %q", c.String(), back.String())
		}
	})
}
