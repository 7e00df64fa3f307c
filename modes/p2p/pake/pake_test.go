package pake

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// unhex decodes the draft's hex blocks (line breaks and spaces allowed).
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex in test vector: %v", err)
	}
	return b
}

// The vectors below are copied from draft-irtf-cfrg-cpace, appendix
// "Test vectors", section "Test vector for CPace using group ristretto255
// and hash SHA-512", and from "CPace function definitions".
var (
	tvPRS = []byte("Password")
	tvCI  = "0b415f696e69746961746f720b425f726573706f6e646572"
	tvSID = "7e4b4791d6a8ef019b936c79fb7f2c57"
	tvGen = `11435061636552697374726574746f3235350850617373776f726464
      00000000000000000000000000000000000000000000000000000000
      00000000000000000000000000000000000000000000000000000000
      00000000000000000000000000000000000000000000000000000000
      00000000000000000000000000000000180b415f696e69746961746f
      720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f
      2c57`
	tvHash = `da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288
      b6663af06bf645c93cd1c51512307199c80e84908916d983b34af772
      05f90851a657ee27`
	tvG  = "222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56"
	tvya = "da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08"
	tvYa = "d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157"
	tvyb = "d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d"
	tvYb = "3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258"
	tvK  = "80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f"
	tvTr = `20d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0e
      ec482b915703414461203ea7e0b19560d7c0b0f5734f63b955286dfa
      8232b5ebe63324e2d9e7433f725803414462`
	tvISK = `b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dc
      ae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c
      3fa2068af7900447`
)

func TestStringUtilities(t *testing.T) {
	r127 := make([]byte, 127)
	for i := range r127 {
		r127[i] = byte(i)
	}
	r128 := append(append([]byte(nil), r127...), 127)
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"prepend_len(empty)", PrependLen(nil), "00"},
		{"prepend_len(1234)", PrependLen([]byte("1234")), "0431323334"},
		{"prepend_len(range(127))", PrependLen(r127), "7f" + hex.EncodeToString(r127)},
		{"prepend_len(range(128))", PrependLen(r128), "8001" + hex.EncodeToString(r128)},
		{"lv_cat", LVCat([]byte("1234"), []byte("5"), nil, []byte("678")), "043132333401350003363738"},
		{"transcript_ir 1", TranscriptIR([]byte("123"), []byte("PartyA"), []byte("234"), []byte("PartyB")),
			"03313233065061727479410332333406506172747942"},
		{"transcript_ir 2", TranscriptIR([]byte("3456"), []byte("PartyA"), []byte("2345"), []byte("PartyB")),
			"043334353606506172747941043233343506506172747942"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, hex.EncodeToString(tt.got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestGeneratorVector(t *testing.T) {
	ci, sid := unhex(t, tvCI), unhex(t, tvSID)
	gs := GeneratorString(tvPRS, ci, sid)
	if diff := cmp.Diff(unhex(t, tvGen), gs); diff != "" {
		t.Errorf("generator_string (-want +got):\n%s", diff)
	}
	h := sha512.Sum512(gs)
	if diff := cmp.Diff(unhex(t, tvHash), h[:]); diff != "" {
		t.Errorf("hash of generator string (-want +got):\n%s", diff)
	}
	g, err := CalculateGenerator(tvPRS, ci, sid).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tvG, hex.EncodeToString(g)); diff != "" {
		t.Errorf("encoded generator (-want +got):\n%s", diff)
	}
}

func TestProtocolVector(t *testing.T) {
	ci, sid := unhex(t, tvCI), unhex(t, tvSID)
	a, err := NewPartyWithScalar(tvPRS, ci, sid, unhex(t, tvya))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewPartyWithScalar(tvPRS, ci, sid, unhex(t, tvyb))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tvYa, hex.EncodeToString(a.Share())); diff != "" {
		t.Errorf("Ya (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(tvYb, hex.EncodeToString(b.Share())); diff != "" {
		t.Errorf("Yb (-want +got):\n%s", diff)
	}
	for name, p := range map[string]struct {
		party *Party
		peer  []byte
	}{"A": {a, b.Share()}, "B": {b, a.Share()}} {
		k, err := p.party.SharedPoint(p.peer)
		if err != nil {
			t.Fatalf("%s: scalar_mult_vfy: %v", name, err)
		}
		if diff := cmp.Diff(tvK, hex.EncodeToString(k)); diff != "" {
			t.Errorf("%s: K (-want +got):\n%s", name, diff)
		}
	}
	ya, yb, ada, adb := a.Share(), b.Share(), []byte("ADa"), []byte("ADb")
	if diff := cmp.Diff(unhex(t, tvTr), TranscriptIR(ya, ada, yb, adb)); diff != "" {
		t.Errorf("transcript_ir (-want +got):\n%s", diff)
	}
	iskA, errA := a.ISK(ya, ada, yb, adb)
	iskB, errB := b.ISK(ya, ada, yb, adb)
	if errA != nil || errB != nil {
		t.Fatalf("ISK: %v, %v", errA, errB)
	}
	if diff := cmp.Diff(unhex(t, tvISK), iskA); diff != "" {
		t.Errorf("ISK_IR at A (-want +got):\n%s", diff)
	}
	if !bytes.Equal(iskA, iskB) {
		t.Errorf("ISK differs between A and B")
	}
}

// TestScalarMultVfyVectors is the draft's G_Ristretto255.scalar_mult_vfy
// section: a valid point, a point that does not decode, and the neutral
// element.
func TestScalarMultVfyVectors(t *testing.T) {
	s := unhex(t, "7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05")
	p, err := NewPartyWithScalar(tvPRS, nil, nil, s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.SharedPoint(unhex(t, "2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c"))
	if err != nil {
		t.Fatalf("valid point: %v", err)
	}
	if diff := cmp.Diff("7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e", hex.EncodeToString(got)); diff != "" {
		t.Errorf("scalar_mult_vfy (-want +got):\n%s", diff)
	}
	for name, x := range map[string]string{
		"Y_i1 (does not decode)": "2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c",
		"Y_i2 (neutral element)": strings.Repeat("00", 32),
		"short":                  "2c3c6b8c",
	} {
		if _, err := p.SharedPoint(unhex(t, x)); err != ErrBadElement {
			t.Errorf("%s: err = %v, want ErrBadElement", name, err)
		}
		if _, err := p.ISK(p.Share(), nil, unhex(t, x), nil); err != ErrBadElement {
			t.Errorf("%s: ISK err = %v, want ErrBadElement (abort)", name, err)
		}
	}
}

func TestRunAndConfirm(t *testing.T) {
	sid := []byte("session-0123456")
	run := func(prsA, prsB string) (bool, bool) {
		a, err := NewParty([]byte(prsA), []byte("ci"), sid)
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewParty([]byte(prsB), []byte("ci"), sid)
		if err != nil {
			t.Fatal(err)
		}
		ya, yb := a.Share(), b.Share()
		iskA, err := a.ISK(ya, []byte("A"), yb, []byte("B"))
		if err != nil {
			t.Fatal(err)
		}
		iskB, err := b.ISK(ya, []byte("A"), yb, []byte("B"))
		if err != nil {
			t.Fatal(err)
		}
		ta := ConfirmationTag(iskA, sid, ya, []byte("A"))
		tb := ConfirmationTag(iskB, sid, yb, []byte("B"))
		return VerifyTag(iskB, sid, ya, []byte("A"), ta), VerifyTag(iskA, sid, yb, []byte("B"), tb)
	}
	if okB, okA := run("pluto-jupiter", "pluto-jupiter"); !okA || !okB {
		t.Errorf("same password: confirmation failed (A ok %v, B ok %v)", okA, okB)
	}
	if okB, okA := run("pluto-jupiter", "pluto-jamaica"); okA || okB {
		t.Errorf("different passwords: confirmation passed (A ok %v, B ok %v)", okA, okB)
	}
}

func TestSampleScalar(t *testing.T) {
	for i := 0; i < 100; i++ {
		s, err := SampleScalar()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 32 || s[31]&0xf0 != 0 {
			t.Fatalf("scalar %x: want 32 bytes below 2^252", s)
		}
	}
}

func FuzzSharedPoint(f *testing.F) {
	f.Add(unhex(f, tvYb))
	f.Add(make([]byte, 32))
	f.Add([]byte{1, 2, 3})
	p, err := NewPartyWithScalar(tvPRS, nil, nil, unhex(f, tvya))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, x []byte) {
		k, err := p.SharedPoint(x)
		if err == nil && len(k) != ElementSize {
			t.Fatalf("shared point of %d bytes", len(k))
		}
	})
}
