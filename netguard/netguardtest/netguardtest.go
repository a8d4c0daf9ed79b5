// Package netguardtest is test support for the SSRF guard: a loopback
// listener that counts the connections it accepts, the ways of writing its
// address in a URL that an import must refuse without
// --allow-local-network, and a resolver whose answers a test decides.
//
// It is test support only; production code must not import it.
package netguardtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Trap listens on 127.0.0.1 and, when the machine has IPv6 loopback, on
// [::1] at the same port, so localhost reaches it whichever address a
// resolver gives first. It accepts and closes every connection, counting
// them; Accepted tells how many arrived, without waiting on a clock.
type Trap struct {
	Port int
	// V6 says the trap also listens on [::1]; without it the IPv6 rows of
	// Spellings are left out (and the test log says so).
	V6 bool

	lns       []*listener
	localhost bool // localhost resolves to loopback here
}

type listener struct {
	ln        net.Listener
	mu        sync.Mutex
	cond      *sync.Cond
	accepted  []string        // remote addresses, in accept order
	sentinels map[string]bool // our own connections made by Accepted
	done      chan struct{}
}

// NewTrap starts a trap, closed at the end of the test.
func NewTrap(t testing.TB) *Trap {
	t.Helper()
	tr := &Trap{}
	var ln4, ln6 net.Listener
	var err6 error
	// The same port on both: try a few ports until [::1] has it free too.
	for range 20 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("trap: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
		if err == nil {
			ln4, ln6 = l, l6
			break
		}
		err6 = err
		if !errors.Is(err, syscall.EADDRINUSE) {
			ln4 = l // no IPv6 loopback on this machine
			break
		}
		l.Close()
	}
	if ln4 == nil {
		t.Fatalf("trap: no port free on both 127.0.0.1 and [::1]: %v", err6)
	}
	tr.Port = ln4.Addr().(*net.TCPAddr).Port
	tr.lns = append(tr.lns, tr.serve(ln4))
	if ln6 != nil {
		tr.V6 = true
		tr.lns = append(tr.lns, tr.serve(ln6))
	} else {
		t.Logf("IPv6 loopback unavailable (%v): the [::1] rows of the trap are skipped", err6)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", "localhost"); err == nil && len(addrs) > 0 {
		tr.localhost = true
		for _, a := range addrs {
			tr.localhost = tr.localhost && a.Unmap().IsLoopback()
		}
	}
	t.Cleanup(tr.close)
	return tr
}

func (tr *Trap) serve(ln net.Listener) *listener {
	l := &listener{ln: ln, sentinels: map[string]bool{}, done: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	go func() {
		defer close(l.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				l.mu.Lock()
				l.accepted = append(l.accepted, "") // wakes waiters: closed
				l.cond.Broadcast()
				l.mu.Unlock()
				return
			}
			l.mu.Lock()
			l.accepted = append(l.accepted, c.RemoteAddr().String())
			l.cond.Broadcast()
			l.mu.Unlock()
			c.Close()
		}
	}()
	return l
}

func (tr *Trap) close() {
	for _, l := range tr.lns {
		l.ln.Close()
		<-l.done
	}
}

// Accepted is how many connections the trap has accepted so far (its own
// bookkeeping connections not counted). It connects to each listener
// itself and waits until that connection is accepted: a listener accepts
// in the order connections were made, so every connection made before
// the call has been counted by then.
func (tr *Trap) Accepted(t testing.TB) int {
	t.Helper()
	n := 0
	for _, l := range tr.lns {
		c, err := net.Dial("tcp", l.ln.Addr().String())
		if err != nil {
			t.Fatalf("trap: connect to itself: %v", err)
		}
		me := c.LocalAddr().String()
		l.mu.Lock()
		l.sentinels[me] = true
		for !contains(l.accepted, me) && !contains(l.accepted, "") {
			l.cond.Wait()
		}
		for _, a := range l.accepted {
			if a != "" && !l.sentinels[a] {
				n++
			}
		}
		l.mu.Unlock()
		c.Close()
	}
	return n
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// AddrPort is the trap's IPv4 address and port.
func (tr *Trap) AddrPort() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(tr.Port))
}

// Spelling is one way of writing a trap address in a URL.
type Spelling struct {
	Name string
	// URL is http://HOST:PORT, without a path.
	URL string
	// Reaches says a plain dialer connecting to it reaches the trap on
	// this machine: only the guard stands between it and the listener.
	// Other rows are refused for what they spell, and dialling them
	// would fail or hang.
	Reaches bool
}

// Spellings are the trap's addresses written every way ferry must refuse
// without --allow-local-network: canonical, zoned, IPv4-mapped,
// IPv4-compatible, IPv4-translated, NAT64, 6to4, Teredo, decimal, octal and
// hex IPv4, shortened and trailing-dot forms, localhost names, the
// unspecified addresses.
func (tr *Trap) Spellings() []Spelling {
	p := ":" + strconv.Itoa(tr.Port)
	s := func(name, host string, reaches bool) Spelling {
		return Spelling{Name: name, URL: "http://" + host + p, Reaches: reaches}
	}
	out := []Spelling{
		s("loopback", "127.0.0.1", true),
		s("localhost", "localhost", tr.localhost),
		s("LOCALHOST with trailing dot", "LOCALHOST.", false),
		s("localhost with trailing dot", "localhost.", false),
		s("subdomain of localhost", "trap.localhost", false),
		s("loopback with trailing dot", "127.0.0.1.", false),
		s("short loopback", "127.1", false),
		s("three-part loopback", "127.0.1", false),
		s("decimal loopback", "2130706433", false),
		s("hex loopback", "0x7f000001", false),
		s("hex-part loopback", "0x7f.1", false),
		s("upper hex-part loopback", "0X7F.0.0.1", false),
		s("octal loopback", "0177.0.0.1", false),
		s("octal number loopback", "017700000001", false),
		s("zero", "0", false),
		s("unspecified IPv4", "0.0.0.0", true),
		s("IPv4-mapped", "[::ffff:127.0.0.1]", true),
		s("IPv4-mapped hex", "[::ffff:7f00:1]", true),
		s("IPv4-mapped long", "[0:0:0:0:0:ffff:7f00:1]", true),
		s("IPv4-mapped zoned", "[::ffff:127.0.0.1%25lo]", true),
		s("IPv4-compatible", "[::127.0.0.1]", false),
		s("IPv4-translated", "[::ffff:0:7f00:1]", false),
		s("NAT64", "[64:ff9b::7f00:1]", false),
		s("local-use NAT64", "[64:ff9b:1::7f00:1]", false),
		s("6to4", "[2002:7f00:1::1]", false),
		s("Teredo", "[2001:0:4136:e378:8000:63bf:80ff:fffe]", false),
	}
	if tr.V6 {
		out = append(out,
			s("IPv6 loopback", "[::1]", true),
			s("IPv6 loopback zone lo", "[::1%25lo]", true),
			s("IPv6 loopback zone eth0", "[::1%25eth0]", true),
			s("IPv6 loopback zone 1", "[::1%251]", true),
			s("IPv6 loopback zone escaped twice", "[::1%25%31]", true),
			s("IPv6 loopback long", "[0:0:0:0:0:0:0:1]", true),
			s("IPv6 loopback zero-padded", "[0000:0000:0000:0000:0000:0000:0000:0001]", true),
			s("unspecified IPv6", "[::]", true),
			s("unspecified IPv6 zoned", "[::%25lo]", true),
			s("link-local zoned", "[fe80::1%25eth0]", false),
			s("link-local zone lo", "[fe80::1%25lo]", false),
		)
	}
	return out
}

// String names the trap in test logs.
func (tr *Trap) String() string {
	return fmt.Sprintf("trap on port %d (IPv6: %v)", tr.Port, tr.V6)
}

// Record types a Resolver is asked for.
const (
	TypeA    = 1
	TypeAAAA = 28
)

// Resolver is a DNS resolver whose server is answer, on an in-memory
// connection: the machine's DNS is never asked. answer gets each queried
// name (lower case, no trailing dot) and record type (TypeA, TypeAAAA) and
// returns the addresses, of which those of the asked type are given, and
// whether the name exists (false: NXDOMAIN). It is called once per query,
// so it can answer differently over time, as rebinding DNS does.
func Resolver(answer func(name string, qtype uint16) (addrs []netip.Addr, exists bool)) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		client, server := net.Pipe()
		go serveDNS(server, answer)
		return client, nil
	}}
}

// serveDNS answers DNS over a stream (two-byte length, then the message).
func serveDNS(c net.Conn, answer func(string, uint16) ([]netip.Addr, bool)) {
	defer c.Close()
	for {
		var n [2]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		name, qtype, qend, ok := dnsQuestion(q)
		if !ok {
			return
		}
		addrs, exists := answer(strings.ToLower(strings.TrimSuffix(name, ".")), qtype)
		resp := dnsAnswer(q[:qend], qtype, addrs, !exists)
		out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

// dnsQuestion reads the first question of a DNS query: its name, type and
// where it ends.
func dnsQuestion(q []byte) (name string, qtype uint16, end int, ok bool) {
	if len(q) < 12 {
		return "", 0, 0, false
	}
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if l >= 0xc0 || i+1+l > len(q) {
			return "", 0, 0, false
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return "", 0, 0, false
	}
	return strings.Join(labels, ".") + ".", binary.BigEndian.Uint16(q[i+1:]), i + 5, true
}

// dnsAnswer answers a query (its header and question as asked) with the
// addrs of the asked type, or NXDOMAIN.
func dnsAnswer(query []byte, qtype uint16, addrs []netip.Addr, nxdomain bool) []byte {
	var ans [][]byte
	for _, a := range addrs {
		var rdata []byte
		switch {
		case qtype == TypeA && a.Is4():
			b := a.As4()
			rdata = b[:]
		case qtype == TypeAAAA && a.Is6():
			b := a.As16()
			rdata = b[:]
		default:
			continue
		}
		// Name: a pointer to the question's; class IN; TTL 0.
		rr := []byte{0xc0, 12, byte(qtype >> 8), byte(qtype), 0, 1, 0, 0, 0, 0, 0, byte(len(rdata))}
		ans = append(ans, append(rr, rdata...))
	}
	out := append([]byte(nil), query...)
	flags := uint16(0x8180) // response, recursion desired and available
	if nxdomain {
		flags |= 3
	}
	binary.BigEndian.PutUint16(out[2:], flags)
	binary.BigEndian.PutUint16(out[4:], 1)
	binary.BigEndian.PutUint16(out[6:], uint16(len(ans)))
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], 0)
	for _, a := range ans {
		out = append(out, a...)
	}
	return out
}
