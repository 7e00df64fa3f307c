package ioutil_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/sockcat/sockcat/ioutil"
)

var benchText = []byte(strings.Repeat("The quick brown fox jumps over the lazy dog, café Grüße 日本語 😀\n", 16384))

func BenchmarkEncodeReader(b *testing.B) {
	for _, name := range []string{"utf-8", "utf-16le", "latin1", "shift_jis"} {
		b.Run(name, func(b *testing.B) {
			cs := mustCharset(b, name)
			b.SetBytes(int64(len(benchText)))
			for b.Loop() {
				r := ioutil.NewEncodeReader(bytes.NewReader(benchText), cs, true)
				if _, err := io.CopyBuffer(io.Discard, r, make([]byte, 32<<10)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeWriter(b *testing.B) {
	for _, name := range []string{"utf-8", "utf-16le", "latin1"} {
		b.Run(name, func(b *testing.B) {
			cs := mustCharset(b, name)
			wire, err := io.ReadAll(ioutil.NewEncodeReader(bytes.NewReader(benchText), cs, true))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				w := ioutil.NewDecodeWriter(io.Discard, cs, false, nil)
				for p := wire; len(p) > 0; p = p[min(len(p), 32<<10):] {
					w.Write(p[:min(len(p), 32<<10)])
				}
				w.Close()
			}
		})
	}
}

func BenchmarkHexReader(b *testing.B) {
	text := []byte(strings.Repeat("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 16384))
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		io.CopyBuffer(io.Discard, ioutil.NewHexReader(bytes.NewReader(text)), make([]byte, 32<<10))
	}
}

func BenchmarkHexWriter(b *testing.B) {
	data := bytes.Repeat([]byte{0, 1, 2, 0xff}, 256<<10)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w := ioutil.NewHexWriter(io.Discard, false)
		for p := data; len(p) > 0; p = p[min(len(p), 32<<10):] {
			w.Write(p[:min(len(p), 32<<10)])
		}
		w.Close()
	}
}
