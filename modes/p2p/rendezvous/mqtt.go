package rendezvous

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// MQTTRootCAs, when set, replaces the system roots for mqtts:// brokers
// (for a private broker with its own CA).
var MQTTRootCAs *x509.CertPool

// topicPrefix is the root of every topic sockcat uses on a broker.
const topicPrefix = "sockcat/p2p/v1/"

// mqttConn is a rendezvous over an MQTT 3.1.1 broker. The broker allocates
// nothing: the creator picks a random nameplate and subscribes to
// sockcat/p2p/v1/NAMEPLATE/c, the joiner to .../j. Each side numbers its
// messages, so QoS 1 duplicates and reordering are undone, and locks onto
// the first peer session it hears, so a third party's messages are ignored
// (and a later joiner is refused).
type mqttConn struct {
	client  mqtt.Client
	url     string
	me      SessionID
	creator bool
	in, out string

	mu       sync.Mutex
	peer     SessionID
	havePeer bool
	pending  []mqMsg // sent before the peer was known
	sendSeq  uint32
	recvSeq  uint32
	early    map[uint32][]byte // received ahead of recvSeq
	ready    [][]byte
	gone     bool
	refused  bool
	closed   bool
	wake     chan struct{}
}

// maxEarly bounds the messages held ahead of a gap.
const maxEarly = 256

func dialMQTT(ctx context.Context, u *url.URL, nameplate string) (transport, string, error) {
	creator := nameplate == ""
	if creator {
		n, err := rand.Int(rand.Reader, big.NewInt(99999))
		if err != nil {
			return nil, "", err
		}
		nameplate = fmt.Sprint(n.Int64() + 1)
	}
	c := &mqttConn{url: u.String(), creator: creator, early: map[uint32][]byte{}, wake: make(chan struct{})}
	if _, err := rand.Read(c.me[:]); err != nil {
		return nil, "", err
	}
	base := topicPrefix + nameplate + "/"
	c.in, c.out = base+"j", base+"c"
	if creator {
		c.in, c.out = base+"c", base+"j"
	}
	if err := c.connect(ctx, u); err != nil {
		return nil, "", describe(u, err)
	}
	if err := wait(ctx, c.client.Subscribe(c.in, 1, c.onMessage)); err != nil {
		c.client.Disconnect(0)
		return nil, "", describe(u, fmt.Errorf("subscribe: %w", err))
	}
	if !creator {
		hello := mqMsg{Kind: mqKindHello, From: c.me}
		if err := wait(ctx, c.client.Publish(c.out, 1, false, hello.encode())); err != nil {
			c.client.Disconnect(0)
			return nil, "", describe(u, fmt.Errorf("publish: %w", err))
		}
	}
	return c, nameplate, nil
}

func (c *mqttConn) connect(ctx context.Context, u *url.URL) error {
	broker := "tcp://" + u.Host
	opts := mqtt.NewClientOptions().
		SetClientID("sockcat-"+hex.EncodeToString(c.me[:])).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(true).
		SetKeepAlive(30*time.Second).
		SetConnectTimeout(10*time.Second).
		SetWill(c.out, string(mqMsg{Kind: mqKindBye, From: c.me}.encode()), 1, false)
	if u.Scheme == "mqtts" {
		broker = "ssl://" + u.Host
		opts.SetTLSConfig(&tls.Config{ServerName: u.Hostname(), RootCAs: MQTTRootCAs, MinVersion: tls.VersionTLS12})
	}
	opts.AddBroker(broker)
	c.client = mqtt.NewClient(opts)
	if err := wait(ctx, c.client.Connect()); err != nil {
		c.client.Disconnect(0)
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}

// wait waits for a paho token, bounded by ctx.
func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// changed wakes every waiter; c.mu is held.
func (c *mqttConn) changed() {
	close(c.wake)
	c.wake = make(chan struct{})
}

// onMessage runs on paho's goroutine: it must not block.
func (c *mqttConn) onMessage(_ mqtt.Client, m mqtt.Message) {
	msg, err := parseMQ(m.Payload())
	if err != nil || msg.From == c.me {
		return // a stranger's or a malformed message: ignore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	switch msg.Kind {
	case mqKindHello:
		c.onHello(msg)
	case mqKindWelcome:
		if !c.creator && msg.To == c.me && !c.havePeer {
			c.lockPeer(msg.From)
		}
	case mqKindRefused:
		if !c.creator && msg.To == c.me && !c.havePeer {
			c.refused = true
		}
	case mqKindMessage:
		if msg.To != c.me {
			return
		}
		if !c.creator && !c.havePeer {
			c.lockPeer(msg.From)
		}
		if c.havePeer && msg.From == c.peer {
			c.deliver(msg.Seq, msg.Data)
		}
	case mqKindBye:
		if c.havePeer && msg.From == c.peer {
			c.gone = true
		}
	}
	c.changed()
}

// onHello takes the first joiner and refuses the others; c.mu is held.
func (c *mqttConn) onHello(msg mqMsg) {
	if !c.creator {
		return
	}
	if c.havePeer && msg.From != c.peer {
		c.client.Publish(c.out, 1, false, mqMsg{Kind: mqKindRefused, From: c.me, To: msg.From}.encode())
		return
	}
	c.client.Publish(c.out, 1, false, mqMsg{Kind: mqKindWelcome, From: c.me, To: msg.From}.encode())
	if !c.havePeer {
		c.lockPeer(msg.From)
	}
}

// lockPeer fixes the peer and sends what waited for it; c.mu is held.
func (c *mqttConn) lockPeer(p SessionID) {
	c.peer, c.havePeer = p, true
	for _, m := range c.pending {
		m.To = p
		c.client.Publish(c.out, 1, false, m.encode())
	}
	c.pending = nil
}

// deliver puts a numbered message in order; c.mu is held.
func (c *mqttConn) deliver(seq uint32, data []byte) {
	if seq < c.recvSeq {
		return // a QoS 1 duplicate
	}
	if seq != c.recvSeq {
		if len(c.early) < maxEarly {
			c.early[seq] = append([]byte(nil), data...)
		}
		return
	}
	c.ready = append(c.ready, append([]byte(nil), data...))
	c.recvSeq++
	for {
		d, ok := c.early[c.recvSeq]
		if !ok {
			return
		}
		delete(c.early, c.recvSeq)
		c.ready = append(c.ready, d)
		c.recvSeq++
	}
}

func (c *mqttConn) send(ctx context.Context, msg []byte) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	m := mqMsg{Kind: mqKindMessage, From: c.me, Seq: c.sendSeq, Data: append([]byte(nil), msg...)}
	c.sendSeq++
	if !c.havePeer {
		c.pending = append(c.pending, m)
		c.mu.Unlock()
		return nil
	}
	m.To = c.peer
	t := c.client.Publish(c.out, 1, false, m.encode())
	c.mu.Unlock()
	if err := wait(ctx, t); err != nil {
		return fmt.Errorf("rendezvous %s: publish: %w", c.url, err)
	}
	return nil
}

func (c *mqttConn) recv(ctx context.Context) ([]byte, error) {
	for {
		c.mu.Lock()
		switch {
		case len(c.ready) > 0:
			m := c.ready[0]
			c.ready = c.ready[1:]
			c.mu.Unlock()
			return m, nil
		case c.closed:
			c.mu.Unlock()
			return nil, ErrClosed
		case c.refused:
			c.mu.Unlock()
			return nil, &RefusedError{URL: c.url, Reason: ReasonUsed, Text: "the nameplate is already in use: a code works once, start again for a new one"}
		case c.gone:
			c.mu.Unlock()
			return nil, ErrPeerGone
		case !c.client.IsConnectionOpen():
			c.mu.Unlock()
			return nil, fmt.Errorf("rendezvous %s: %w", c.url, errors.New("connection to the broker lost"))
		}
		wake := c.wake
		c.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second): // notice a lost broker connection
		}
	}
}

func (c *mqttConn) close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.changed()
	var t mqtt.Token
	if c.havePeer {
		t = c.client.Publish(c.out, 1, false, mqMsg{Kind: mqKindBye, From: c.me, To: c.peer}.encode())
	}
	c.mu.Unlock()
	if t != nil {
		t.WaitTimeout(2 * time.Second)
	}
	c.client.Disconnect(250)
	return nil
}
