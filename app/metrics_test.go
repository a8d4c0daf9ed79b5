package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestMetricsAccess: /metrics is for loopback clients of the main listener
// by default, for bearers of FERRY_METRICS_TOKEN when one is set, and moves
// to its own listener with --metrics-listen.
func TestMetricsAccess(t *testing.T) {
	const token = "metrics-s3cret"
	type req struct {
		name    string
		where   string // "main" or "metrics" (the separate listener)
		headers map[string]string
		status  int
	}
	tests := []struct {
		name string
		opt  apptest.Options
		reqs []req
	}{
		{"default: loopback only", apptest.Options{}, []req{
			{"loopback client", "main", nil, 200},
			{"through a proxy on this host", "main", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 404},
			{"through a proxy, Forwarded", "main", map[string]string{"Forwarded": "for=203.0.113.9"}, 404},
		}},
		{"token", apptest.Options{MetricsToken: token}, []req{
			{"no token", "main", nil, 401},
			{"wrong token", "main", map[string]string{"Authorization": "Bearer nope"}, 401},
			{"token as PRIVATE-TOKEN", "main", map[string]string{"PRIVATE-TOKEN": token}, 401},
			{"right token", "main", map[string]string{"Authorization": "Bearer " + token}, 200},
			{"right token through a proxy", "main", map[string]string{"Authorization": "Bearer " + token, "X-Forwarded-For": "203.0.113.9"}, 200},
		}},
		{"separate address", apptest.Options{MetricsListen: "127.0.0.1:0"}, []req{
			{"main listener no longer serves it", "main", nil, 404},
			{"metrics listener", "metrics", nil, 200},
			{"metrics listener serves nothing else", "metrics-api", nil, 404},
		}},
		{"separate address and token", apptest.Options{MetricsListen: "127.0.0.1:0", MetricsToken: token}, []req{
			{"main listener", "main", map[string]string{"Authorization": "Bearer " + token}, 404},
			{"no token", "metrics", nil, 401},
			{"right token", "metrics", map[string]string{"Authorization": "Bearer " + token}, 200},
		}},
	}
	// Access does not depend on the database: SQLite only.
	sqlite := func(t *testing.T) storetest.Engine { return storetest.Engine{Name: store.SQLite, DataDir: t.TempDir()} }
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := apptest.Start(t, sqlite(t), tc.opt)
			for _, rq := range tc.reqs {
				url := in.URL + "/metrics"
				switch rq.where {
				case "metrics":
					url = in.App.MetricsURL() + "/metrics"
				case "metrics-api":
					url = in.App.MetricsURL() + "/api/v4/version"
				}
				r, _ := http.NewRequest("GET", url, nil)
				for k, v := range rq.headers {
					r.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != rq.status {
					t.Errorf("%s: %d %.200s, want %d", rq.name, resp.StatusCode, body, rq.status)
					continue
				}
				served := strings.Contains(string(body), "go_goroutines")
				if served != (rq.status == 200) {
					t.Errorf("%s: metrics served = %v with status %d", rq.name, served, rq.status)
				}
				if rq.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: 401 without a challenge", rq.name)
				}
			}
		})
	}

	// A client on another host: the main listener refuses it by default.
	// (The test cannot dial from another host, so it hands the request
	// to the handler with that client's address.)
	in := apptest.Start(t, sqlite(t), apptest.Options{})
	for addr, want := range map[string]int{"192.0.2.7:4242": 404, "[2001:db8::1]:4242": 404, "127.0.0.1:4242": 200, "[::1]:4242": 200} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		in.App.Handler().ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("client %s: %d, want %d", addr, w.Code, want)
		}
	}
}
