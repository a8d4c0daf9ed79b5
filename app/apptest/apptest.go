// Package apptest starts a whole ferry (store, queue, API) on a random
// loopback port for integration tests, on each configured database engine.
//
// It is test support only; production code must not import it.
package apptest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/queue"
	"github.com/ferry-import/ferry/store/storetest"
)

// Instance is a running ferry.
type Instance struct {
	App       *app.App
	URL       string
	RootToken string
	Engine    storetest.Engine
}

// Options adjust an instance.
type Options struct {
	Workers        int
	QueueOverrides func(*queue.Config)
	Log            io.Writer // nil sends logs to t.Log (shown when a test fails)
	// AllowLocalNetwork lets imports reach loopback sources (fakeforge).
	AllowLocalNetwork bool
	// AllowEndpoints, without AllowLocalNetwork, lets imports reach these
	// loopback address:port pairs and no other local address
	// (netguard.Guard.AllowEndpoints): a fake source is allowed, while
	// every other spelling and hop stays refused as in production.
	AllowEndpoints  []netip.AddrPort
	EngineOverrides func(*importer.Config)
	// MetricsListen and MetricsToken are app.Config's.
	MetricsListen, MetricsToken string
	// AppOverrides adjusts the rest of app.Config (a GitLab migration's
	// timeouts…) before ferry starts.
	AppOverrides func(*app.Config)
}

// Start runs ferry on e until the test ends.
func Start(t testing.TB, e storetest.Engine, opt Options) *Instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logOut := opt.Log
	if logOut == nil {
		logOut = testLog{t}
	}
	workers := opt.Workers
	if workers == 0 {
		workers = 2
	}
	engineOverrides := func(c *importer.Config) {
		// The guard is the one the git store dials through too.
		c.Guard.AllowEndpoints = append(c.Guard.AllowEndpoints, opt.AllowEndpoints...)
		if opt.EngineOverrides != nil {
			opt.EngineOverrides(c)
		}
	}
	cfg := app.Config{
		Listen: "127.0.0.1:0", DataDir: e.DataDir, DatabaseURL: e.URL, Workers: workers, AllowLocalNetwork: opt.AllowLocalNetwork,
		EngineOverrides: engineOverrides,
		Log:             slog.New(slog.NewJSONHandler(logOut, nil)), Out: io.Discard, ShutdownTimeout: 10 * time.Second,
		MetricsListen: opt.MetricsListen, MetricsToken: opt.MetricsToken,
		QueueOverrides: func(c *queue.Config) {
			c.FetchPollInterval = 50 * time.Millisecond
			if opt.QueueOverrides != nil {
				opt.QueueOverrides(c)
			}
		},
	}
	if opt.AppOverrides != nil {
		opt.AppOverrides(&cfg)
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start ferry on %s: %v", e.Name, err)
	}
	if err := a.Listen(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("ferry shutdown: %v", err)
		}
	})
	tok, err := os.ReadFile(filepath.Join(e.DataDir, "initial_root_token"))
	if err != nil {
		t.Fatalf("root token: %v", err)
	}
	return &Instance{App: a, URL: a.URL(), RootToken: strings.TrimSpace(string(tok)), Engine: e}
}

// Each starts one instance per engine and runs fn as a subtest.
func Each(t *testing.T, opt Options, fn func(t *testing.T, in *Instance)) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { fn(t, Start(t, e, opt)) })
	}
}

// Client is client-go pointed at the instance with token.
func (in *Instance) Client(t testing.TB, token string) *gitlab.Client {
	t.Helper()
	c, err := gitlab.NewClient(token, gitlab.WithBaseURL(in.URL), gitlab.WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testLog writes log lines to the test's log.
type testLog struct{ t testing.TB }

func (w testLog) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
