package ioutil_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"testing/iotest"

	"github.com/sockcat/sockcat/ioutil"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestObserveReaderIOTest(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 999)
	var c ioutil.Counter
	for _, r := range []func() ioutil.Observer{func() ioutil.Observer { return c.Observe }} {
		if err := iotest.TestReader(ioutil.ObserveReader(iotest.HalfReader(bytes.NewReader(data)), r()), data); err != nil {
			t.Error(err)
		}
		if err := iotest.TestReader(ioutil.ObserveReader(iotest.OneByteReader(bytes.NewReader(data)), r()), data); err != nil {
			t.Error(err)
		}
	}
}
