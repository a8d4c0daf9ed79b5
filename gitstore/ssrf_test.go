package gitstore

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/netguard/netguardtest"
)

// TestMirrorAndLFSNeverReachBlockedAddresses: git (through its dial proxy)
// and the LFS client, dialling through the strict guard, connect to no
// spelling of a loopback trap, whether a URL check runs before them or
// the dial alone decides; LFS hrefs and their redirects included. Nothing
// is stored and no error shows the credential.
func TestMirrorAndLFSNeverReachBlockedAddresses(t *testing.T) {
	t.Parallel()
	trap := netguardtest.NewTrap(t)
	spellings := trap.Spellings()
	ctx := context.Background()
	cred := Credential{Username: srcUser, Password: srcSecret}

	// An LFS server the guard allows (its endpoint only), whose batch
	// answer sends object i to spelling i, directly or through a redirect.
	var ptrs []LFSPointer
	for i := range spellings {
		oid, content := lfsObjectFor("object " + strconv.Itoa(i))
		ptrs = append(ptrs, LFSPointer{oid, int64(len(content))})
	}
	var batches atomic.Int32
	var lfs *httptest.Server
	lfs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i, ok := strings.CutPrefix(r.URL.Path, "/redirect/"); ok {
			n, _ := strconv.Atoi(i)
			http.Redirect(w, r, spellings[n].URL+"/objects/"+ptrs[n].OID, http.StatusTemporaryRedirect)
			return
		}
		batches.Add(1)
		var req lfsBatchRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("batch request: %v", err)
		}
		out := lfsBatchResponse{Transfer: "basic"}
		for _, o := range req.Objects {
			for n, p := range ptrs {
				if p.OID != o.OID {
					continue
				}
				href := spellings[n].URL + "/objects/" + p.OID
				if n%2 == 1 {
					href = lfs.URL + "/redirect/" + strconv.Itoa(n)
				}
				out.Objects = append(out.Objects, lfsObject{OID: p.OID, Size: p.Size, Actions: map[string]lfsAction{"download": {Href: href}}})
			}
		}
		w.Header().Set("Content-Type", lfsMediaType)
		_ = json.NewEncoder(w).Encode(out)
	}))
	defer lfs.Close()
	guard := &netguard.Guard{AllowEndpoints: []netip.AddrPort{netip.MustParseAddrPort(strings.TrimPrefix(lfs.URL, "http://"))}}

	for _, mode := range []struct {
		name  string
		check bool
	}{{"dial only", false}, {"URL check and dial", true}} {
		t.Run(mode.name, func(t *testing.T) {
			opts := Options{DialContext: guard.DialContext}
			if mode.check {
				opts.CheckURL = guard.CheckURL
			}
			s, err := New(t.TempDir(), opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, sp := range spellings {
				err := s.Mirror(ctx, 1, sp.URL+"/src/repo.git", cred)
				if !errors.Is(err, netguard.ErrBlocked) {
					t.Errorf("mirror %s: %v, want a refusal", sp.URL, err)
				} else {
					assertNoSecret(t, err.Error(), srcSecret)
				}
				if s.Exists(1) {
					t.Fatalf("mirror %s created the repository", sp.URL)
				}
			}
			batches.Store(0)
			err = s.FetchLFS(ctx, 7, lfs.URL+"/src/repo.git", cred, ptrs)
			if err == nil || batches.Load() == 0 {
				t.Fatalf("fetch LFS: %v after %d batch requests", err, batches.Load())
			}
			assertNoSecret(t, err.Error(), srcSecret)
			if got := strings.Count(err.Error(), netguard.ErrBlocked.Error()); got != len(ptrs) {
				t.Errorf("%d of %d objects refused: %v", got, len(ptrs), err)
			}
			for _, p := range ptrs {
				if s.HasLFSObject(p.OID) {
					t.Errorf("object %s stored", p.OID)
				}
			}
			if n := trap.Accepted(t); n != 0 {
				t.Fatalf("%d connections reached the trap", n)
			}
		})
	}
}
