package rendezvous

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFrameRoundTrip(t *testing.T) {
	frames := []Frame{
		HelloFrame(""),
		HelloFrame("42"),
		{Kind: KindMessage, Body: []byte("opaque")},
		{Kind: KindMessage, Body: bytes.Repeat([]byte{7}, MaxBody)},
		{Kind: KindGone, Body: []byte{}},
		ErrorFrame(ReasonUsed, "nameplate 42 was already used"),
	}
	var stream []byte
	for _, f := range frames {
		var err error
		if stream, err = AppendFrame(stream, f); err != nil {
			t.Fatal(err)
		}
	}
	var got []Frame
	for len(stream) > 0 {
		f, n, err := ParseFrame(stream)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, Frame{Kind: f.Kind, Body: append([]byte{}, f.Body...)})
		stream = stream[n:]
	}
	for i := range frames {
		if frames[i].Body == nil {
			frames[i].Body = []byte{}
		}
	}
	if diff := cmp.Diff(frames, got); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
}

func TestParseFrameErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "incomplete"},
		{"short header", []byte{'m', 0}, "incomplete"},
		{"short body", []byte{'m', 0, 5, 'a'}, "incomplete"},
		{"unknown kind", []byte{'Z', 0, 0}, "unknown frame kind"},
		{"too long", []byte{'m', 0xff, 0xff}, "over the"},
	}
	for _, tt := range tests {
		_, _, err := ParseFrame(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := AppendFrame(nil, Frame{Kind: KindMessage, Body: make([]byte, MaxBody+1)}); err == nil {
		t.Error("AppendFrame accepted an oversized body")
	}
}

func TestParseHello(t *testing.T) {
	tests := []struct {
		name    string
		f       Frame
		want    Hello
		wantErr bool
	}{
		{"allocate", HelloFrame(""), Hello{}, false},
		{"claim", HelloFrame("123"), Hello{Claim: true, Nameplate: "123"}, false},
		{"message first", Frame{Kind: KindMessage}, Hello{}, true},
		{"no version", Frame{Kind: KindAllocate}, Hello{}, true},
		{"wrong version", Frame{Kind: KindClaim, Body: []byte{9, '1'}}, Hello{}, true},
		{"allocate with body", Frame{Kind: KindAllocate, Body: []byte{Version, '1'}}, Hello{}, true},
		{"claim letters", Frame{Kind: KindClaim, Body: []byte{Version, 'x'}}, Hello{}, true},
		{"claim empty", Frame{Kind: KindClaim, Body: []byte{Version}}, Hello{}, true},
		{"claim leading zero", Frame{Kind: KindClaim, Body: []byte{Version, '0', '1'}}, Hello{}, true},
		{"claim too long", Frame{Kind: KindClaim, Body: append([]byte{Version}, "123456789"...)}, Hello{}, true},
	}
	for _, tt := range tests {
		got, err := ParseHello(tt.f)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, wantErr %v", tt.name, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestParseErrorSanitizes(t *testing.T) {
	reason, text := ParseError(append([]byte{ReasonUsed}, "bad\x1b[2Jline\n"...))
	if reason != ReasonUsed || text != "bad?[2Jline?" {
		t.Errorf("got %q %q", reason, text)
	}
	if r, _ := ParseError(nil); r != ReasonProtocol {
		t.Errorf("empty error body: reason %q", r)
	}
}

func TestMQCodec(t *testing.T) {
	m := mqMsg{Kind: mqKindMessage, From: SessionID{1}, To: SessionID{2}, Seq: 7, Data: []byte("x")}
	got, err := parseMQ(m.encode())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	bad := map[string][]byte{
		"short":        []byte("m"),
		"unknown kind": mqMsg{Kind: 'Q', From: SessionID{1}}.encode(),
		"zero sender":  mqMsg{Kind: mqKindHello}.encode(),
		"hello data":   mqMsg{Kind: mqKindHello, From: SessionID{1}, Data: []byte("x")}.encode(),
		"too big":      mqMsg{Kind: mqKindMessage, From: SessionID{1}, Data: make([]byte, MaxBody+1)}.encode(),
	}
	for name, b := range bad {
		if _, err := parseMQ(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	for _, fr := range []Frame{HelloFrame(""), HelloFrame("99"), {Kind: KindMessage, Body: []byte("hi")}, ErrorFrame(ReasonUsed, "x")} {
		b, _ := AppendFrame(nil, fr)
		f.Add(b)
	}
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := ParseFrame(b)
		if err != nil {
			if !errors.Is(err, ErrIncomplete) && n != 0 {
				t.Fatalf("error with n=%d", n)
			}
			return
		}
		if n > len(b) || len(fr.Body) > MaxBody {
			t.Fatalf("n=%d of %d, body %d", n, len(b), len(fr.Body))
		}
		re, err := AppendFrame(nil, fr)
		if err != nil || !bytes.Equal(re, b[:n]) {
			t.Fatalf("re-encoding differs: %x vs %x (%v)", re, b[:n], err)
		}
		if h, err := ParseHello(fr); err == nil && h.Claim {
			if checkNameplate(h.Nameplate) != nil {
				t.Fatalf("hello accepted bad nameplate %q", h.Nameplate)
			}
		}
		ParseError(fr.Body)
	})
}

func FuzzParseMQ(f *testing.F) {
	f.Add(mqMsg{Kind: mqKindMessage, From: SessionID{1}, To: SessionID{2}, Seq: 1, Data: []byte("x")}.encode())
	f.Add(mqMsg{Kind: mqKindHello, From: SessionID{3}}.encode())
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMQ(b)
		if err != nil {
			return
		}
		back, err := parseMQ(m.encode())
		if err != nil || !bytes.Equal(back.encode(), b) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
