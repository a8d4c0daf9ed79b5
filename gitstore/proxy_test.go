package gitstore

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

var errRefusedAddr = errors.New("address refused by policy")

// recordingDialer dials loopback addresses (or refuses all) and records
// what it was asked for.
type recordingDialer struct {
	refuse bool
	mu     sync.Mutex
	addrs  []string
}

func (d *recordingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	if d.refuse {
		return nil, errRefusedAddr
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *recordingDialer) dialled() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

func TestMirrorDialsThroughCallerDialer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	up, srcURL, res := upstream(t)
	oid, content := lfsObjectFor("through the dialer")
	if err := up.PutLFSObject(ctx, oid, int64(len(content)), strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if err := up.LinkLFSObject(ctx, 1, oid); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(strings.TrimSuffix(srcURL, "/src/repo.git"), "http://")
	cred := Credential{Username: srcUser, Password: srcSecret}
	tests := []struct {
		name   string
		refuse bool
	}{
		{"allowed", false},
		{"refused", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &recordingDialer{refuse: tt.refuse}
			s, err := New(t.TempDir(), Options{DialContext: d.DialContext})
			if err != nil {
				t.Fatal(err)
			}
			before := len(res.Calls())
			mirrorErr := s.Mirror(ctx, 1, srcURL, cred)
			lfsErr := s.FetchLFS(ctx, 1, srcURL, cred, []LFSPointer{{oid, int64(len(content))}})
			dialled := d.dialled()
			if len(dialled) == 0 {
				t.Fatal("git and the LFS client did not dial through the caller's dialer")
			}
			for _, a := range dialled {
				if a != host {
					t.Errorf("dialled %s, want only %s", a, host)
				}
			}
			if !tt.refuse {
				if mirrorErr != nil || lfsErr != nil {
					t.Fatalf("mirror: %v; lfs: %v", mirrorErr, lfsErr)
				}
				if !s.Exists(1) || !s.LFSLinked(1, oid) {
					t.Error("nothing imported")
				}
				return
			}
			if !errors.Is(mirrorErr, errRefusedAddr) {
				t.Errorf("mirror err = %v, want the dialer's refusal", mirrorErr)
			}
			if lfsErr == nil || !strings.Contains(lfsErr.Error(), errRefusedAddr.Error()) {
				t.Errorf("lfs err = %v", lfsErr)
			}
			assertNoSecret(t, mirrorErr.Error()+lfsErr.Error(), srcSecret)
			if len(res.Calls()) != before {
				t.Error("source was reached despite the refusal")
			}
		})
	}
}

// TestDialProxyConnect drives the https (CONNECT) path with Go's client.
func TestDialProxyConnect(t *testing.T) {
	t.Parallel()
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tunnelled")
	}))
	t.Cleanup(target.Close)
	tests := []struct {
		name       string
		refuse     bool
		auth       bool
		wantStatus int
		wantErr    string
	}{
		{"tunnel", false, true, 200, ""},
		{"no proxy password", false, false, 0, "Proxy Authentication Required"},
		{"refused dial", true, true, 0, "Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &recordingDialer{refuse: tt.refuse}
			p, err := startProxy(context.Background(), d.DialContext)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			pu, _ := url.Parse(p.URL())
			if !tt.auth {
				pu.User = nil
			}
			tr := target.Client().Transport.(*http.Transport).Clone()
			tr.Proxy = http.ProxyURL(pu)
			resp, err := (&http.Client{Transport: tr}).Get(target.URL)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			if resp.StatusCode != tt.wantStatus || string(body) != "tunnelled" {
				t.Errorf("%d %q", resp.StatusCode, body)
			}
		})
	}
}
