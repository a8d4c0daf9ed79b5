// Package netguard keeps imports from reaching addresses they must not:
// loopback, private, link-local, cloud metadata and other non-public
// ranges, unless the administrator allows local network imports. The check
// runs at dial time, on the address actually connected to, so DNS
// rebinding, redirects, pagination links and clone URLs pointing elsewhere
// are all caught by the same code.
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
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is returned (wrapped) for a refused destination.
var ErrBlocked = errors.New("destination address is not allowed")

// Guard decides which destinations outbound connections may reach.
type Guard struct {
	// AllowLocal permits loopback, private and link-local destinations
	// (--allow-local-network). Metadata endpoints stay blocked regardless.
	AllowLocal bool
	// Resolver resolves host names for CheckURL; nil uses the default.
	Resolver *net.Resolver
}

var (
	metadata = []netip.Prefix{
		netip.MustParsePrefix("169.254.169.254/32"),
		netip.MustParsePrefix("fd00:ec2::254/128"),
		netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud
	}
	local = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.0.0.0/24"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("198.18.0.0/15"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("::/128"),
		netip.MustParsePrefix("fc00::/7"),
		netip.MustParsePrefix("fe80::/10"),
		netip.MustParsePrefix("fec0::/10"), // deprecated site-local, still routed by some stacks
	}
	never = []netip.Prefix{
		netip.MustParsePrefix("224.0.0.0/4"), // multicast
		netip.MustParsePrefix("240.0.0.0/4"), // reserved, broadcast
		netip.MustParsePrefix("ff00::/8"),    // multicast
	}
)

// Allowed reports whether ip may be connected to. IPv6 addresses that
// carry an IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by
// that address too, so 64:ff9b::a9fe:a9fe cannot reach 169.254.169.254.
func (g *Guard) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return false
	}
	if v4, ok := embeddedIPv4(ip); ok && !g.Allowed(v4) {
		return false
	}
	for _, p := range metadata {
		if p.Contains(ip) {
			return false
		}
	}
	for _, p := range never {
		if p.Contains(ip) {
			return false
		}
	}
	if g.AllowLocal {
		return true
	}
	for _, p := range local {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 extracts the IPv4 address a NAT64 or 6to4 address stands for.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixTo4.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// control vets the resolved address just before each connect.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlocked, address)
	}
	if !g.Allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrBlocked, ap.Addr())
	}
	return nil
}

// DialContext connects only to allowed addresses.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	return d.DialContext(ctx, network, addr)
}

// CheckURL refuses a URL that is not http(s), has no host, carries
// credentials, or whose host resolves to a blocked address. It is the
// early, friendly check; DialContext is the one that cannot be bypassed.
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
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if !g.Allowed(ip) {
			return fmt.Errorf("%w: %s", ErrBlocked, ip)
		}
		return nil
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
		if !g.Allowed(a) {
			return fmt.Errorf("%w: %s resolves to %s", ErrBlocked, host, a)
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
