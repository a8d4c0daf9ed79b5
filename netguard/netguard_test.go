package netguard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
)

func TestAllowed(t *testing.T) {
	cases := []struct {
		ip         string
		strict     bool // allowed with AllowLocal=false
		permissive bool // allowed with AllowLocal=true
	}{
		{"8.8.8.8", true, true},
		{"2001:4860:4860::8888", true, true},
		{"127.0.0.1", false, true},
		{"::1", false, true},
		{"10.1.2.3", false, true},
		{"172.20.0.1", false, true},
		{"192.168.1.1", false, true},
		{"100.64.1.1", false, true},
		{"169.254.1.1", false, true},
		{"fe80::1", false, true},
		{"fd12::1", false, true},
		{"0.0.0.0", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"169.254.169.254", false, false},
		{"fd00:ec2::254", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"224.0.0.1", false, false},
		{"64:ff9b::a9fe:a9fe", false, false}, // NAT64 for 169.254.169.254
		{"64:ff9b::7f00:1", false, true},     // NAT64 for 127.0.0.1
		{"64:ff9b::808:808", true, true},     // NAT64 for 8.8.8.8
		{"2002:a9fe:a9fe::1", false, false},  // 6to4 for 169.254.169.254
		{"2002:c0a8:101::1", false, true},    // 6to4 for 192.168.1.1
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
}

func TestDialAndCheckURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	ctx := context.Background()
	u, _ := url.Parse(srv.URL)

	strict := &Guard{}
	if err := strict.CheckURL(ctx, u); !errors.Is(err, ErrBlocked) {
		t.Fatalf("CheckURL loopback: %v", err)
	}
	c := &http.Client{Transport: strict.Transport()}
	if _, err := c.Get(srv.URL); !errors.Is(err, ErrBlocked) {
		t.Fatalf("dial loopback: %v", err)
	}
	// localhost resolves to loopback: refused by name too.
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
