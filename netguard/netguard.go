// Package netguard keeps imports from reaching addresses they must not:
// loopback, private, link-local, cloud metadata and other non-public
// ranges, unless the administrator allows local network imports. The check
// runs at dial time, on the address actually connected to, so DNS
// rebinding, redirects, pagination links and clone URLs pointing elsewhere
// are all caught by the same code.
//
// Every decision judges an address through Normalize, which undoes the
// spellings that would otherwise slip past a range check (netip.Prefix
// never contains a zoned address, and an IPv4 address wrapped in IPv6 is in
// no IPv4 range):
//
//   - the IPv6 zone is dropped: ::1%lo, ::1%eth0 and ::1%1 are ::1, and
//     fe80::1%eth0 is fe80::1;
//   - IPv4-mapped ::ffff:a.b.c.d and IPv4-translated ::ffff:0:a.b.c.d are
//     a.b.c.d;
//   - IPv4-compatible ::a.b.c.d (::/96 other than :: and ::1) is a.b.c.d;
//   - NAT64 64:ff9b::a.b.c.d and the local-use 64:ff9b:1::/48 (read as a
//     /96 prefix, the layout deployments use) are a.b.c.d;
//   - 6to4 2002:AABB:CCDD:: is the IPv4 address AA.BB.CC.DD;
//   - Teredo 2001:0::/32 is its client's IPv4 address, the last 32 bits
//     XOR 0xffffffff.
//
// An address is allowed only if both it and what it normalises to are; the
// local-use NAT64 prefix is itself a local network, and the IPv4 address in
// each of its other RFC 6052 layouts (/48, /56, /64) is judged too.
//
// Host names get the same care before any resolver sees them: a host that
// spells an IPv4 address in a way netip does not read (2130706433, 0x7f.1,
// 0177.0.0.1, 127.1, 127.0.0.1.) is refused in every mode, because some
// resolvers read it as an address and others as a name; localhost and
// *.localhost, in any case and with trailing dots, are loopback (RFC 6761).
//
// A refusal is a *BlockedError (errors.Is(err, ErrBlocked)); it names the
// destination host and address, never a path, query or credential, and
// says when --allow-local-network would allow it. Callers treat it as
// permanent: retrying cannot change the answer.
//
// It knows IP addresses and URLs; it must not know any forge or the API.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is returned (wrapped) for a refused destination.
var ErrBlocked = errors.New("destination address is not allowed")

// LocalHint is appended to the refusal of an address that local network
// imports would allow: it names the administrator's switch.
const LocalHint = "local network imports are disabled; see --allow-local-network"

// BlockedError is a refused destination. It matches ErrBlocked.
type BlockedError struct {
	// Dest is the destination as it was given: a host, host:port or
	// address. Never a URL: paths and queries may carry secrets.
	Dest string
	// Addr is the address that decided the refusal, normalised; invalid
	// when the host itself was refused.
	Addr netip.Addr
	// Reason says what Addr is ("loopback", "cloud metadata endpoint", …) or
	// what is wrong with the host.
	Reason string
	// Local is set when --allow-local-network would allow Addr.
	Local bool
}

func (e *BlockedError) Error() string {
	var b strings.Builder
	b.WriteString(ErrBlocked.Error())
	b.WriteString(": ")
	b.WriteString(e.Dest)
	if e.Reason != "" {
		b.WriteString(": ")
		if e.Addr.IsValid() {
			b.WriteString(e.Addr.String())
			b.WriteString(" is ")
		}
		b.WriteString(e.Reason)
	}
	if e.Local {
		b.WriteString(" (")
		b.WriteString(LocalHint)
		b.WriteString(")")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrBlocked) hold.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// Guard decides which destinations outbound connections may reach.
type Guard struct {
	// AllowLocal permits loopback, private and link-local destinations
	// (--allow-local-network). Metadata endpoints stay blocked regardless.
	AllowLocal bool
	// AllowEndpoints lifts the local-network rule for exactly these
	// address:port pairs (compared normalised), nothing else: it lets a
	// test serve a fake source on loopback while every other local
	// destination stays refused. Metadata, multicast and reserved
	// addresses stay blocked. Production leaves it empty; no flag or
	// setting fills it.
	AllowEndpoints []netip.AddrPort
	// Resolver resolves host names for CheckURL and DialContext; nil uses
	// the default.
	Resolver *net.Resolver
}

// class is how a range is treated.
type class int

const (
	classLocal  class = iota // refused unless AllowLocal (or an AllowEndpoints match)
	classAlways              // refused in every mode
)

type rangeRule struct {
	p     netip.Prefix
	what  string
	class class
}

func rule(p, what string, c class) rangeRule {
	return rangeRule{netip.MustParsePrefix(p), what, c}
}

// rules are the refused ranges. Addresses are judged normalised, so an
// IPv4 range also covers its mapped, compatible, NAT64, 6to4 and Teredo
// forms.
var rules = []rangeRule{
	// Cloud metadata and credential endpoints: never, whatever the mode.
	rule("169.254.169.254/32", "a cloud metadata endpoint", classAlways),
	rule("169.254.170.2/32", "a cloud credentials endpoint (ECS)", classAlways),
	rule("169.254.170.23/32", "a cloud credentials endpoint (EKS)", classAlways),
	rule("100.100.100.200/32", "a cloud metadata endpoint (Alibaba Cloud)", classAlways),
	rule("fd00:ec2::254/128", "a cloud metadata endpoint", classAlways),
	rule("fd00:ec2::23/128", "a cloud credentials endpoint (EKS)", classAlways),
	rule("224.0.0.0/4", "multicast", classAlways),
	rule("240.0.0.0/4", "reserved or broadcast", classAlways),
	rule("ff00::/8", "multicast", classAlways),

	// Local networks: --allow-local-network lifts these.
	rule("0.0.0.0/8", `"this network" (reaches the local host)`, classLocal),
	rule("10.0.0.0/8", "a private network", classLocal),
	rule("100.64.0.0/10", "shared address space (carrier-grade NAT)", classLocal),
	rule("127.0.0.0/8", "loopback", classLocal),
	rule("169.254.0.0/16", "link-local", classLocal),
	rule("172.16.0.0/12", "a private network", classLocal),
	rule("192.0.0.0/24", "IETF protocol assignments", classLocal),
	rule("192.168.0.0/16", "a private network", classLocal),
	rule("198.18.0.0/15", "a benchmarking network", classLocal),
	rule("::1/128", "loopback", classLocal),
	rule("::/128", "the unspecified address (reaches the local host)", classLocal),
	rule("fc00::/7", "a unique local network", classLocal),
	rule("fe80::/10", "link-local", classLocal),
	rule("fec0::/10", "site-local", classLocal), // deprecated, still routed by some stacks
	rule("64:ff9b:1::/48", "local-use NAT64", classLocal),
}

var (
	ipv4Compatible  = netip.MustParsePrefix("::/96")
	ipv4Translated  = netip.MustParsePrefix("::ffff:0:0:0/96")
	nat64           = netip.MustParsePrefix("64:ff9b::/96")
	nat64LocalUse   = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour       = netip.MustParsePrefix("2002::/16")
	teredo          = netip.MustParsePrefix("2001::/32")
	unspecified6    = netip.IPv6Unspecified()
	loopback6       = netip.IPv6Loopback()
	loopback4       = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	errNotAnAddress = errors.New("not an address")
)

// Normalize returns the address a policy must judge for ip: zone dropped,
// and the IPv4 address an IPv6 address carries (mapped, translated,
// compatible, NAT64, 6to4, Teredo) unwrapped. Other addresses come back
// unzoned but otherwise unchanged; an invalid ip stays invalid.
func Normalize(ip netip.Addr) netip.Addr {
	ip = ip.WithZone("").Unmap()
	if v4, ok := embeddedIPv4(ip); ok {
		return v4
	}
	return ip
}

// embeddedIPv4 is the IPv4 address an unzoned, unmapped IPv6 address
// stands for, if any.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	last32 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	switch {
	case ip == unspecified6 || ip == loopback6:
		return netip.Addr{}, false // ::/128 and ::1/128 are IPv6 ranges of their own
	case ipv4Compatible.Contains(ip), ipv4Translated.Contains(ip), nat64.Contains(ip), nat64LocalUse.Contains(ip):
		return last32, true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	case teredo.Contains(ip):
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), true
	}
	return netip.Addr{}, false
}

// forms are every address a connection to ip may reach: ip itself
// (unzoned, unmapped), what Normalize makes of it and, for the local-use
// NAT64 prefix whose layout a client cannot know, the IPv4 address of each
// other RFC 6052 layout.
func forms(ip netip.Addr) []netip.Addr {
	base := ip.WithZone("").Unmap()
	out := []netip.Addr{base}
	if n := Normalize(base); n != base {
		out = append(out, n)
	}
	if nat64LocalUse.Contains(base) {
		b := base.As16()
		// RFC 6052 section 2.2: bits 64-71 are zero; the IPv4 address
		// goes around them.
		out = append(out,
			netip.AddrFrom4([4]byte{b[6], b[7], b[9], b[10]}),   // /48
			netip.AddrFrom4([4]byte{b[7], b[9], b[10], b[11]}),  // /56
			netip.AddrFrom4([4]byte{b[9], b[10], b[11], b[12]}), // /64
		)
	}
	return out
}

// verdict judges ip (and port, when known, for AllowEndpoints): nil when
// allowed. dest names the destination in the error.
func (g *Guard) verdict(dest string, ip netip.Addr, port uint16, hasPort bool) *BlockedError {
	if !ip.IsValid() {
		return &BlockedError{Dest: dest, Reason: "not a valid address"}
	}
	fs := forms(ip)
	// Refusals no mode lifts come first, so Local is only said of an
	// address --allow-local-network would really allow.
	for _, f := range fs {
		for _, r := range rules {
			if r.class == classAlways && r.p.Contains(f) {
				return &BlockedError{Dest: dest, Addr: f, Reason: r.what}
			}
		}
	}
	if g.AllowLocal || (hasPort && g.endpointAllowed(ip, port)) {
		return nil
	}
	for _, f := range fs {
		for _, r := range rules {
			if r.class == classLocal && r.p.Contains(f) {
				return &BlockedError{Dest: dest, Addr: f, Reason: r.what, Local: true}
			}
		}
	}
	return nil
}

func (g *Guard) endpointAllowed(ip netip.Addr, port uint16) bool {
	n := Normalize(ip)
	for _, ap := range g.AllowEndpoints {
		if ap.Port() == port && Normalize(ap.Addr()) == n {
			return true
		}
	}
	return false
}

// Allowed reports whether ip may be connected to (on any port:
// AllowEndpoints does not apply). It judges ip as Normalize and the
// package documentation describe, so 64:ff9b::a9fe:a9fe cannot reach
// 169.254.169.254 nor ::1%lo the loopback.
func (g *Guard) Allowed(ip netip.Addr) bool {
	return g.verdict(ip.String(), ip, 0, false) == nil
}

// control vets the resolved address just before each connect.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ip, port, err := parseAddrPort(address)
	if err != nil {
		return &BlockedError{Dest: address, Reason: "not an address and port"}
	}
	if b := g.verdict(address, ip, port, true); b != nil {
		return b
	}
	return nil
}

// parseAddrPort reads what the dialer hands control: ip:port, where even
// an IPv4 address may carry a zone (a dialled ::ffff:127.0.0.1%lo arrives
// as 127.0.0.1%lo), which netip.ParseAddrPort refuses.
func parseAddrPort(address string) (netip.Addr, uint16, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.Addr{}, 0, err
	}
	p, ok := parsePort(port)
	if !ok {
		return netip.Addr{}, 0, errNotAnAddress
	}
	host, _, _ = strings.Cut(host, "%") // the zone decides nothing
	ip, err := netip.ParseAddr(host)
	return ip, p, err
}

// DialContext connects only to allowed addresses. A host that spells an
// address oddly or names localhost is refused before any resolver sees
// it; every address actually connected to is vetted just before the
// connect.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if b := g.checkName(addr, host, port); b != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: b}
		}
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.control, Resolver: g.Resolver}
	return d.DialContext(ctx, network, addr)
}

// checkName judges what the host says by itself, without resolving it:
// an address literal (zoned or not), an IPv4 address in a spelling netip
// does not read, or a localhost name. nil when the host is an allowed
// literal or a name to resolve.
func (g *Guard) checkName(dest, host, port string) *BlockedError {
	p, hasPort := parsePort(port)
	if ip, err := netip.ParseAddr(host); err == nil {
		return g.verdict(dest, ip, p, hasPort)
	}
	if ip, err := parseLegacyIPv4(host); !errors.Is(err, errNotAnAddress) {
		// Refused in every mode: some resolvers read it as an address,
		// others look it up as a name, so what it reaches depends on
		// the machine.
		b := &BlockedError{Dest: dest, Reason: fmt.Sprintf("%q looks like an IPv4 address but is not one (%v)", host, err)}
		if err == nil {
			what := ip.String()
			// Say what the address itself is, and whether the local
			// network rule stands in the way too.
			if v := (&Guard{}).verdict(dest, ip, 0, false); v != nil {
				what += ", " + v.Reason + ","
				b.Local = v.Local && g.verdict(dest, ip, p, hasPort) != nil
			}
			b.Reason = fmt.Sprintf("%q spells the IPv4 address %s in a way resolvers disagree on; write it as %s", host, what, ip)
		}
		return b
	}
	if isLocalhost(host) {
		// RFC 6761: these names are loopback, whatever a resolver says.
		if v := g.verdict(dest, loopback4, p, hasPort); v != nil {
			v.Addr = netip.Addr{}
			v.Reason = "a localhost name (loopback)"
			return v
		}
	}
	return nil
}

func parsePort(s string) (uint16, bool) {
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err == nil
}

// isLocalhost reports localhost and *.localhost, in any case, with or
// without trailing dots.
func isLocalhost(host string) bool {
	h := strings.ToLower(strings.TrimRight(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// parseLegacyIPv4 reads host as inet_aton and the WHATWG URL standard do:
// errNotAnAddress when host is a name (its last label is not a number);
// otherwise the address, or another error when the number is not a valid
// address. One to four dot-separated parts, each decimal, octal (leading
// 0) or hex (0x), the last filling the remaining bytes; one trailing dot
// is allowed. A canonical dotted quad is for netip; here it only comes
// with a trailing dot.
func parseLegacyIPv4(host string) (netip.Addr, error) {
	h := strings.TrimSuffix(host, ".")
	parts := strings.Split(h, ".")
	if h == "" || !isNumberLabel(parts[len(parts)-1]) {
		return netip.Addr{}, errNotAnAddress
	}
	if len(parts) > 4 {
		return netip.Addr{}, errors.New("too many parts")
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseLegacyNumber(p)
		if !ok {
			return netip.Addr{}, fmt.Errorf("part %q is not a number", p)
		}
		nums[i] = n
	}
	var v uint64
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, fmt.Errorf("part %d out of range", i+1)
		}
		v |= n << (8 * (3 - i))
	}
	lastBits := 8 * (5 - len(nums))
	last := nums[len(nums)-1]
	if last >= 1<<lastBits {
		return netip.Addr{}, errors.New("last part out of range")
	}
	v |= last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nil
}

// isNumberLabel: all decimal digits, or 0x followed by hex digits (the
// WHATWG "ends in a number" test).
func isNumberLabel(s string) bool {
	if s == "" {
		return false
	}
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		for _, c := range s[2:] {
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
		return true
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func parseLegacyNumber(s string) (uint64, bool) {
	base := 10
	switch {
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		s, base = s[2:], 16
		if s == "" {
			return 0, true // "0x" is zero to inet_aton
		}
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	n, err := strconv.ParseUint(s, base, 32)
	return n, err == nil
}

// CheckURL refuses a URL that is not http(s), has no host, carries
// credentials, spells an address oddly, names localhost, or whose host is
// or resolves to a blocked address. It is the early, friendly check;
// DialContext is the one that cannot be bypassed.
func (g *Guard) CheckURL(ctx context.Context, u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q", ErrBlocked, u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: no host", ErrBlocked)
	}
	if u.User != nil {
		return fmt.Errorf("%w: credentials in URL", ErrBlocked)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	p, hasPort := parsePort(port)
	if !hasPort {
		return &BlockedError{Dest: u.Host, Reason: "not a valid port"}
	}
	if b := g.checkName(u.Host, host, port); b != nil {
		return b
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil // an allowed literal
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, a := range addrs {
		if b := g.verdict(u.Host, a, p, true); b != nil {
			return b
		}
	}
	return nil
}

// Transport is an http.Transport dialling through the guard.
func (g *Guard) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil, // an environment proxy would bypass the address check
		DialContext:           g.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
	}
}

// SameHostRedirects is an http.Client CheckRedirect that follows at most
// five redirects and only to the original scheme and host, so a source
// cannot bounce requests (and the credential headers on them) elsewhere.
func SameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return fmt.Errorf("%w: redirect to another host (%s)", ErrBlocked, req.URL.Host)
	}
	return nil
}
