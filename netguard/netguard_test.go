package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/netguard/netguardtest"
)

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"127.0.0.1", "127.0.0.1"},
		{"::1", "::1"},
		{"::", "::"},
		{"::1%lo", "::1"},
		{"::1%eth0", "::1"},
		{"::1%1", "::1"},
		{"fe80::1%eth0", "fe80::1"},
		{"::ffff:127.0.0.1", "127.0.0.1"},
		{"::ffff:127.0.0.1%lo", "127.0.0.1"},
		{"::ffff:7f00:1", "127.0.0.1"},
		{"::ffff:0:7f00:1", "127.0.0.1"},   // IPv4-translated
		{"::127.0.0.1", "127.0.0.1"},       // IPv4-compatible
		{"::a9fe:a9fe", "169.254.169.254"}, // IPv4-compatible
		{"::2", "0.0.0.2"},                 // IPv4-compatible, not :: or ::1
		{"64:ff9b::7f00:1", "127.0.0.1"},   // NAT64
		{"64:ff9b::a9fe:a9fe%eth0", "169.254.169.254"},
		{"64:ff9b:1::a00:1", "10.0.0.1"}, // local-use NAT64, /96 layout
		{"2002:7f00:1::1", "127.0.0.1"},  // 6to4
		{"2002:a9fe:a9fe:1::", "169.254.169.254"},
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"},  // Teredo client ^0x80fffffe
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.45"}, // RFC 4380's example
		{"2001:4860:4860::8888", "2001:4860:4860::8888"},       // not Teredo (2001:0::/32 only)
		{"2606:4700::1111%eth0", "2606:4700::1111"},
	}
	for _, c := range cases {
		if got := Normalize(netip.MustParseAddr(c.in)); got != netip.MustParseAddr(c.want) {
			t.Errorf("Normalize(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	if Normalize(netip.Addr{}).IsValid() {
		t.Error("Normalize made an invalid address valid")
	}
}

func TestAllowed(t *testing.T) {
	cases := []struct {
		ip         string
		strict     bool // allowed with AllowLocal=false
		permissive bool // allowed with AllowLocal=true
	}{
		{"8.8.8.8", true, true},
		{"2001:4860:4860::8888", true, true},
		{"2606:4700::1111%eth0", true, true},
		{"127.0.0.1", false, true},
		{"127.255.255.254", false, true},
		{"::1", false, true},
		{"::1%lo", false, true},
		{"::1%eth0", false, true},
		{"::1%1", false, true},
		{"::1%25", false, true},
		{"10.1.2.3", false, true},
		{"172.20.0.1", false, true},
		{"192.168.1.1", false, true},
		{"100.64.1.1", false, true},
		{"169.254.1.1", false, true},
		{"fe80::1", false, true},
		{"fe80::1%eth0", false, true},
		{"fe80::1%lo", false, true},
		{"fd12::1", false, true},
		{"fd12::1%eth0", false, true},
		{"0.0.0.0", false, true},
		{"::", false, true},
		{"::%lo", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"::ffff:7f00:1", false, true},
		{"::ffff:127.0.0.1%lo", false, true},
		{"::ffff:0:7f00:1", false, true},
		{"::127.0.0.1", false, true},
		{"::127.0.0.1%eth0", false, true},
		{"::a00:1", false, true},
		{"::808:808", true, true}, // IPv4-compatible 8.8.8.8
		{"169.254.169.254", false, false},
		{"169.254.170.2", false, false},
		{"fd00:ec2::254", false, false},
		{"fd00:ec2::254%eth0", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"::169.254.169.254", false, false},
		{"::ffff:0:a9fe:a9fe", false, false},
		{"224.0.0.1", false, false},
		{"ff02::1%eth0", false, false},
		{"64:ff9b::a9fe:a9fe", false, false}, // NAT64 for 169.254.169.254
		{"64:ff9b::7f00:1", false, true},     // NAT64 for 127.0.0.1
		{"64:ff9b::7f00:1%eth0", false, true},
		{"64:ff9b::808:808", true, true},                       // NAT64 for 8.8.8.8
		{"64:ff9b:1::808:808", false, true},                    // local-use NAT64 is a local network
		{"64:ff9b:1::a9fe:a9fe", false, false},                 // …and judged by what it carries, /96 layout
		{"64:ff9b:1:a9fe:a9:fea9:fe00:0", false, false},        // …or /48 layout
		{"2002:a9fe:a9fe::1", false, false},                    // 6to4 for 169.254.169.254
		{"2002:c0a8:101::1", false, true},                      // 6to4 for 192.168.1.1
		{"2002:808:808::1", true, true},                        // 6to4 for 8.8.8.8
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", false, true},  // Teredo client 127.0.0.1
		{"2001:0:4136:e378:8000:63bf:5601:5601", false, false}, // Teredo client 169.254.169.254
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", true, true},   // Teredo client 8.8.8.8
		{"fec0::1", false, true},
		{"255.255.255.255", false, false},
	}
	for _, c := range cases {
		ip := netip.MustParseAddr(c.ip)
		if got := (&Guard{}).Allowed(ip); got != c.strict {
			t.Errorf("%s strict: %v, want %v", c.ip, got, c.strict)
		}
		if got := (&Guard{AllowLocal: true}).Allowed(ip); got != c.permissive {
			t.Errorf("%s allow-local: %v, want %v", c.ip, got, c.permissive)
		}
	}
	if (&Guard{AllowLocal: true}).Allowed(netip.Addr{}) {
		t.Error("the invalid address is allowed")
	}
}

// outcome of a check in one mode.
type outcome int

const (
	allowed  outcome = iota
	local            // refused, with the --allow-local-network hint
	refused          // refused, no hint: the switch would not help
	unusable         // not refused by policy, but not usable either (does not resolve)
)

func (o outcome) String() string {
	return [...]string{"allowed", "refused (local, hinted)", "refused (no hint)", "unusable"}[o]
}

func outcomeOf(err error) outcome {
	switch {
	case err == nil:
		return allowed
	case errors.Is(err, ErrBlocked) && strings.Contains(err.Error(), LocalHint):
		return local
	case errors.Is(err, ErrBlocked):
		return refused
	}
	return unusable
}

// TestCheckURLSpellings: every way of writing a destination, in both
// modes. Names resolve through a fake DNS that gives loopback for every
// name but the few listed, as a resolver reading numeric names as
// addresses, or a rebinding attacker, would: nothing here depends on the
// machine's DNS.
func TestCheckURLSpellings(t *testing.T) {
	res := fakeResolver(map[string][]netip.Addr{
		"public.test":   {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("2606:2800:220:1::1")},
		"metadata.test": {netip.MustParseAddr("169.254.169.254")},
		"mixed.test":    {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("::1")},
		"mapped.test":   {netip.MustParseAddr("::ffff:10.0.0.1")},
		"nowhere.test":  nil,
	})
	cases := []struct {
		url          string
		strict, open outcome
	}{
		{"https://public.test/api/v3/", allowed, allowed},
		{"https://93.184.216.34/", allowed, allowed},
		{"https://[2606:2800:220:1::1]/", allowed, allowed},
		{"https://[2606:2800:220:1::1%25eth0]/", allowed, allowed},
		{"http://nowhere.test/", unusable, unusable},

		// Loopback, canonical and zoned.
		{"http://127.0.0.1:8080/", local, allowed},
		{"http://127.0.0.2/", local, allowed},
		{"http://[::1]:8080/", local, allowed},
		{"http://[::1%25lo]:8080/", local, allowed},
		{"http://[::1%25eth0]:8080/", local, allowed},
		{"http://[::1%251]:8080/", local, allowed},
		{"http://[::1%25%31]:8080/", local, allowed},
		{"http://[::1%2525]/", local, allowed},
		{"http://[0:0:0:0:0:0:0:1]/", local, allowed},
		{"http://[0000:0000:0000:0000:0000:0000:0000:0001]/", local, allowed},
		{"http://[::ffff:7f00:1]/", local, allowed},
		{"http://[::ffff:127.0.0.1]/", local, allowed},
		{"http://[::ffff:127.0.0.1%25lo]/", local, allowed},
		{"http://[::ffff:0:7f00:1]/", local, allowed},
		{"http://[::127.0.0.1]/", local, allowed},
		{"http://[::7f00:1%25eth0]/", local, allowed},
		{"http://[64:ff9b::7f00:1]/", local, allowed},
		{"http://[64:ff9b:1::7f00:1]/", local, allowed},
		{"http://[2002:7f00:1::1]/", local, allowed},
		{"http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", local, allowed},
		{"http://0.0.0.0/", local, allowed},
		{"http://[::]/", local, allowed},
		{"http://[::%25lo]/", local, allowed},

		// Link-local and private, zoned.
		{"http://[fe80::1%25eth0]/", local, allowed},
		{"http://[fe80::1%25lo]/", local, allowed},
		{"http://[fe80::1%251]/", local, allowed},
		{"http://[fd12::1%25eth0]/", local, allowed},
		{"http://[::ffff:10.0.0.1]/", local, allowed},
		{"http://[64:ff9b::c0a8:101]/", local, allowed},

		// Names: localhost by rule, others by what they resolve to.
		{"http://localhost:8080/", local, allowed},
		{"http://LOCALHOST./", local, allowed},
		{"http://localhost../", local, unusable}, // not a name a resolver takes
		{"http://LocalHost:8080/", local, allowed},
		{"http://trap.localhost/", local, allowed},
		{"http://rebind.test/", local, allowed},
		{"http://rebind.test./", local, allowed},
		{"http://mixed.test/", local, allowed},
		{"http://mapped.test/", local, allowed},
		{"http://metadata.test/", refused, refused},

		// IPv4 in spellings resolvers disagree on: refused in every mode,
		// hinted when the address is local too.
		{"http://2130706433/", local, refused},
		{"http://2130706433:8080/", local, refused},
		{"http://0x7f000001/", local, refused},
		{"http://0x7f.1/", local, refused},
		{"http://0X7F.0.0.1/", local, refused},
		{"http://0177.0.0.1/", local, refused},
		{"http://017700000001/", local, refused},
		{"http://127.1/", local, refused},
		{"http://127.0.1/", local, refused},
		{"http://127.0.0.1./", local, refused},
		{"http://127.000.000.001/", local, refused},
		{"http://0/", local, refused},
		{"http://0x/", local, refused},
		{"http://0.0.0.0./", local, refused},
		{"http://134744072/", refused, refused},  // 8.8.8.8, still ambiguous
		{"http://0xa9fea9fe/", refused, refused}, // 169.254.169.254
		{"http://4294967296/", refused, refused}, // too big to be an address
		{"http://1.2.3.4.5/", refused, refused},
		{"http://256.1.1.1/", refused, refused},
		{"http://08.0.0.1/", refused, refused}, // 8 is no octal digit
		{"http://1.2.3.0x/", refused, refused},

		// Numbers that are not the last label are ordinary names.
		{"http://127.0.0.1.rebind.test/", local, allowed},
		{"http://0x7f.public.test/", local, allowed}, // not in the fake DNS: loopback

		// Metadata, whatever the spelling.
		{"http://169.254.169.254/latest", refused, refused},
		{"http://[::ffff:a9fe:a9fe]/", refused, refused},
		{"http://[::169.254.169.254]/", refused, refused},
		{"http://[64:ff9b::a9fe:a9fe]/", refused, refused},
		{"http://[2002:a9fe:a9fe::]/", refused, refused},
		{"http://[fd00:ec2::254%25eth0]/", refused, refused},
		{"http://[ff02::1%25eth0]/", refused, refused},

		// Not a destination at all.
		{"ftp://public.test/", refused, refused},
		{"file:///etc/passwd", refused, refused},
		{"http:///x", refused, refused},
		{"http://user:pw@public.test/", refused, refused},
	}
	ctx := context.Background()
	for _, mode := range []struct {
		name string
		g    *Guard
	}{{"strict", &Guard{Resolver: res}}, {"allow-local", &Guard{AllowLocal: true, Resolver: res}}} {
		for _, c := range cases {
			want := c.strict
			if mode.g.AllowLocal {
				want = c.open
			}
			u, err := url.Parse(c.url)
			if err != nil {
				t.Errorf("%s: %v", c.url, err)
				continue
			}
			err = mode.g.CheckURL(ctx, u)
			if got := outcomeOf(err); got != want {
				t.Errorf("%s %s: %s (%v), want %s", mode.name, c.url, got, err, want)
			}
			if err != nil && (strings.Contains(err.Error(), "/api/") || strings.Contains(err.Error(), "pw")) {
				t.Errorf("%s %s: the error names more than the host: %v", mode.name, c.url, err)
			}
		}
	}
}

// TestAllowEndpoints: the test hook lifts the local rule for one endpoint
// in any spelling of it, and nothing else.
func TestAllowEndpoints(t *testing.T) {
	g := &Guard{AllowEndpoints: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:8080")}}
	ctx := context.Background()
	for raw, ok := range map[string]bool{
		"http://127.0.0.1:8080/":               true,
		"http://[::ffff:127.0.0.1]:8080/":      true,
		"http://[::ffff:127.0.0.1%25lo]:8080/": true,
		"http://127.0.0.1:8081/":               false,
		"http://127.0.0.1/":                    false,
		"http://[::1]:8080/":                   false,
		"http://127.0.0.2:8080/":               false,
		"http://127.1:8080/":                   false, // spellings stay refused
		"http://2130706433:8080/":              false,
	} {
		u, _ := url.Parse(raw)
		if err := g.CheckURL(ctx, u); (err == nil) != ok {
			t.Errorf("%s: %v, want allowed=%v", raw, err, ok)
		}
	}
	meta := &Guard{AllowEndpoints: []netip.AddrPort{netip.MustParseAddrPort("169.254.169.254:80")}}
	if meta.Allowed(netip.MustParseAddr("169.254.169.254")) || meta.control("tcp4", "169.254.169.254:80", nil) == nil {
		t.Error("an endpoint exception opened a metadata address")
	}
}

// TestDialRefusesEverySpelling: a trap listens on 127.0.0.1 and [::1];
// every spelling of it, dialled through the strict guard, is refused
// before a connection is made, CheckURL or not. With local imports
// allowed, the spellings a plain dialer reaches do reach the trap: what
// stops them is the guard, not an unusable address.
func TestDialRefusesEverySpelling(t *testing.T) {
	trap := netguardtest.NewTrap(t)
	t.Log(trap)
	// Every name resolves to loopback, as rebinding DNS would answer.
	res := fakeResolver(nil)
	strict := &http.Client{Transport: (&Guard{Resolver: res}).Transport()}
	rows := append(trap.Spellings(),
		netguardtest.Spelling{Name: "rebinding name", URL: "http://rebind.test:" + strconv.Itoa(trap.Port)},
		netguardtest.Spelling{Name: "rebinding name, trailing dot", URL: "http://rebind.test.:" + strconv.Itoa(trap.Port)})
	for _, s := range rows {
		t.Run(s.Name, func(t *testing.T) {
			resp, err := strict.Get(s.URL + "/api/v3/repositories/1?access_token=ghp_secret")
			if err == nil {
				resp.Body.Close()
				t.Fatalf("%s: answered %d", s.URL, resp.StatusCode)
			}
			if !errors.Is(err, ErrBlocked) {
				t.Fatalf("%s: %v, want a refusal", s.URL, err)
			}
			var be *BlockedError
			if !errors.As(err, &be) || strings.Contains(be.Error(), "ghp_secret") || strings.Contains(be.Error(), "/api/") {
				t.Errorf("%s: refusal %v", s.URL, err)
			}
		})
	}
	if n := trap.Accepted(t); n != 0 {
		t.Fatalf("the strict guard let %d connections reach the trap", n)
	}

	// The same spellings with local imports allowed: those a plain dialer
	// reaches get through, one connection each.
	open := &http.Client{Transport: (&Guard{AllowLocal: true, Resolver: res}).Transport()}
	want := 0
	for _, s := range rows {
		if !s.Reaches {
			continue
		}
		want++
		before := trap.Accepted(t)
		resp, err := open.Get(s.URL + "/")
		if err == nil {
			resp.Body.Close()
		}
		if errors.Is(err, ErrBlocked) {
			t.Errorf("allow-local %s: %v", s.URL, err)
		}
		if trap.Accepted(t) != before+1 {
			t.Errorf("allow-local %s did not reach the trap (%v): the row does not spell the trap's address", s.URL, err)
		}
	}
	t.Logf("%d spellings refused; %d of them shown to reach the trap when allowed", len(rows), want)
}

// TestDialEndpointException: the guard with one allowed endpoint reaches
// it, and no other port or address of the same machine.
func TestDialEndpointException(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	trap := netguardtest.NewTrap(t)
	ap := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))
	c := &http.Client{Transport: (&Guard{AllowEndpoints: []netip.AddrPort{ap}}).Transport()}
	resp, err := c.Get(srv.URL)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("allowed endpoint: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, s := range trap.Spellings() {
		if resp, err := c.Get(s.URL); !errors.Is(err, ErrBlocked) {
			if err == nil {
				resp.Body.Close()
			}
			t.Errorf("%s: %v", s.URL, err)
		}
	}
	if n := trap.Accepted(t); n != 0 {
		t.Fatalf("%d connections reached the trap", n)
	}
}

func TestDialAndCheckURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	ctx := context.Background()
	u, _ := url.Parse(srv.URL)

	strict := &Guard{}
	err := strict.CheckURL(ctx, u)
	if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), LocalHint) {
		t.Fatalf("CheckURL loopback: %v", err)
	}
	c := &http.Client{Transport: strict.Transport()}
	if _, err := c.Get(srv.URL); !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), LocalHint) {
		t.Fatalf("dial loopback: %v", err)
	}
	// localhost is loopback by name too.
	lh, _ := url.Parse("http://localhost:" + u.Port())
	if err := strict.CheckURL(ctx, lh); !errors.Is(err, ErrBlocked) {
		t.Fatalf("CheckURL localhost: %v", err)
	}

	open := &Guard{AllowLocal: true}
	if err := open.CheckURL(ctx, u); err != nil {
		t.Fatalf("allow-local CheckURL: %v", err)
	}
	resp, err := (&http.Client{Transport: open.Transport()}).Get(srv.URL)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("allow-local dial: %v %v", resp, err)
	}
	resp.Body.Close()

	for _, bad := range []string{"ftp://example.com/", "http:///x", "http://user:pw@example.com/", "file:///etc/passwd", "http://169.254.169.254/latest"} {
		bu, _ := url.Parse(bad)
		if err := open.CheckURL(ctx, bu); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	// Metadata is refused without the hint: the switch would not help.
	if err := open.CheckURL(ctx, &url.URL{Scheme: "http", Host: "169.254.169.254"}); err == nil || strings.Contains(err.Error(), LocalHint) {
		t.Errorf("metadata: %v", err)
	}
}

func TestSameHostRedirects(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the redirect target was contacted")
	}))
	defer target.Close()
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			http.Redirect(w, r, "/final", http.StatusFound)
			return
		}
		if r.URL.Path == "/final" {
			w.WriteHeader(204)
			return
		}
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusFound)
	}))
	defer src.Close()
	c := &http.Client{Transport: (&Guard{AllowLocal: true}).Transport(), CheckRedirect: SameHostRedirects}
	if _, err := c.Get(src.URL + "/away"); !errors.Is(err, ErrBlocked) {
		t.Fatalf("cross-host redirect: %v", err)
	}
	resp, err := c.Get(src.URL + "/same")
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("same-host redirect: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestParseLegacyIPv4(t *testing.T) {
	for in, want := range map[string]string{
		"2130706433": "127.0.0.1", "0x7f000001": "127.0.0.1", "0x7f.1": "127.0.0.1", "0177.0.0.1": "127.0.0.1",
		"127.1": "127.0.0.1", "127.0.1": "127.0.0.1", "127.0.0.1.": "127.0.0.1", "0": "0.0.0.0", "0x": "0.0.0.0",
		"10.0x10.0.1": "10.16.0.1", "1.16777215": "1.255.255.255", "0xffffffff": "255.255.255.255",
	} {
		got, err := parseLegacyIPv4(in)
		if err != nil || got != netip.MustParseAddr(want) {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
	for _, name := range []string{"example.com", "1.example", "0x7f.example", "localhost", "a1", "1a", ""} {
		if _, err := parseLegacyIPv4(name); !errors.Is(err, errNotAnAddress) {
			t.Errorf("%q taken for an address: %v", name, err)
		}
	}
	for _, bad := range []string{"4294967296", "256.0.0.1", "1.2.3.4.5", "08", "1.256.0.0", "1.2.65536", "0x100000000"} {
		if _, err := parseLegacyIPv4(bad); err == nil || errors.Is(err, errNotAnAddress) {
			t.Errorf("%q: %v, want an invalid address", bad, err)
		}
	}
}

// fakeResolver answers every name from names, and any name not in it with
// loopback (127.0.0.1 and ::1), as a resolver reading numeric names as
// addresses, or a rebinding attacker, would; a name mapped to nil does not
// exist.
func fakeResolver(names map[string][]netip.Addr) *net.Resolver {
	loop := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
	return netguardtest.Resolver(func(name string, _ uint16) ([]netip.Addr, bool) {
		addrs, known := names[name]
		if !known {
			return loop, true
		}
		return addrs, addrs != nil
	})
}
