// Package rendezvous is the meeting point of --p2p: a small protocol that
// passes opaque messages between the two holders of a nameplate, its server
// (`sockcat rendezvous`) and clients for sockcat:// and mqtt(s):// URLs.
//
// The rendezvous sees the nameplate and opaque messages only: the PAKE
// messages (which let nobody test guesses at a code offline) and then
// messages encrypted with the PAKE's session key. It never sees a code's
// words or the payload.
package rendezvous

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrPeerGone is returned by Recv once the other holder has left and every
// message it sent has been read.
var ErrPeerGone = errors.New("rendezvous: the other side left")

// ErrClosed is returned by Send and Recv after Close.
var ErrClosed = errors.New("rendezvous: connection closed")

// RefusedError is a rendezvous server's refusal (unknown or used nameplate,
// a bound hit, expiry).
type RefusedError struct {
	URL    string
	Reason byte
	Text   string
}

func (e *RefusedError) Error() string { return fmt.Sprintf("rendezvous %s: %s", e.URL, e.Text) }

// transport is one kind of rendezvous connection.
type transport interface {
	send(ctx context.Context, msg []byte) error
	recv(ctx context.Context) ([]byte, error)
	close() error
}

// Conn is one side's connection to a nameplate on a rendezvous. It is a
// p2p.Mailbox.
type Conn struct {
	t         transport
	nameplate string
	url       string
}

// Open connects to the first of urls that answers. With nameplate "" it
// allocates a fresh nameplate (read it with [Conn.Nameplate]); otherwise it
// claims the given one. A refusal (the nameplate was used, or a bound was
// hit) ends the search; a rendezvous that does not know the nameplate or
// does not answer passes to the next URL.
func Open(ctx context.Context, urls []string, nameplate string) (*Conn, error) {
	if len(urls) == 0 {
		return nil, errors.New("rendezvous: no rendezvous given (--rendezvous URL)")
	}
	if nameplate != "" {
		if err := checkNameplate(nameplate); err != nil {
			return nil, fmt.Errorf("rendezvous: %w", err)
		}
	}
	var errs []error
	for _, raw := range urls {
		c, err := open1(ctx, raw, nameplate)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		var re *RefusedError
		if ctx.Err() != nil || (errors.As(err, &re) && re.Reason != ReasonUnknown) {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func open1(ctx context.Context, raw, nameplate string) (*Conn, error) {
	u, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	var t transport
	switch u.Scheme {
	case "sockcat":
		t, nameplate, err = dialSockcat(ctx, u, nameplate)
	default:
		t, nameplate, err = dialMQTT(ctx, u, nameplate)
	}
	if err != nil {
		return nil, err
	}
	return &Conn{t: t, nameplate: nameplate, url: u.String()}, nil
}

// ParseURL checks a rendezvous URL: sockcat://HOST:PORT, mqtt://HOST:PORT
// or mqtts://HOST:PORT.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bad rendezvous URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "sockcat", "mqtt", "mqtts":
	default:
		return nil, fmt.Errorf("bad rendezvous URL %q: want sockcat://, mqtt:// or mqtts://HOST:PORT", raw)
	}
	if u.Hostname() == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("bad rendezvous URL %q: want %s://HOST:PORT", raw, u.Scheme)
	}
	u.Path = ""
	return u, nil
}

// Nameplate is the nameplate this connection holds.
func (c *Conn) Nameplate() string { return c.nameplate }

// URL is the rendezvous this connection uses.
func (c *Conn) URL() string { return c.url }

// Send delivers msg to the other holder of the nameplate.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if len(msg) > MaxBody {
		return fmt.Errorf("rendezvous: message of %d bytes is over the %d-byte limit", len(msg), MaxBody)
	}
	return c.t.send(ctx, msg)
}

// Recv returns the other holder's next message.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) { return c.t.recv(ctx) }

// Close leaves the nameplate.
func (c *Conn) Close() error { return c.t.close() }

// describe names a rendezvous in errors.
func describe(u fmt.Stringer, err error) error {
	return fmt.Errorf("rendezvous %s: %w", strings.TrimSuffix(u.String(), "/"), err)
}
