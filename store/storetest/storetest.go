// Package storetest opens fresh stores for tests: SQLite always, and
// PostgreSQL when FERRY_TEST_POSTGRES_URL is set (CI sets it). Each
// PostgreSQL store lives in its own schema, dropped when the test ends.
//
// It is test support only; production code must not import it.
package storetest

import (
	"context"
	"os"
	"testing"

	"github.com/ferry-import/ferry/store"
)

// EnvPostgres names the variable holding the PostgreSQL URL for tests.
const EnvPostgres = "FERRY_TEST_POSTGRES_URL"

// Engine is one database a test runs on.
type Engine struct {
	Name string // "sqlite" or "postgres"
	// URL is the database URL to give ferry ("" for SQLite in DataDir).
	URL     string
	DataDir string
}

// Engines returns SQLite and, when configured, a fresh PostgreSQL schema.
// Without FERRY_TEST_POSTGRES_URL the PostgreSQL variant is logged as
// skipped, never silently dropped.
func Engines(t testing.TB) []Engine {
	t.Helper()
	out := []Engine{{Name: store.SQLite, DataDir: t.TempDir()}}
	if u := os.Getenv(EnvPostgres); u != "" {
		out = append(out, Engine{Name: store.Postgres, URL: FreshSchema(t, u), DataDir: t.TempDir()})
	} else {
		t.Logf("PostgreSQL variant skipped: set %s (for example postgres://postgres@127.0.0.1:5432/test) to run it", EnvPostgres)
	}
	return out
}

// FreshSchema creates an empty schema in the database at base and returns a
// URL whose connections use it; the schema is dropped at cleanup.
func FreshSchema(t testing.TB, base string) string {
	t.Helper()
	u, drop, err := store.ScratchSchema(context.Background(), base, "t")
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	t.Cleanup(drop)
	return u
}

// Open opens a migrated store on e, closed at cleanup.
func Open(t testing.TB, e Engine) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{URL: e.URL, DataDir: e.DataDir})
	if err != nil {
		t.Fatalf("open %s store: %v", e.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Each runs fn once per engine as a subtest.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) { fn(t, Open(t, e)) })
	}
}
