// Command ferry runs the ferry server (API and job workers), job workers
// alone, and administrative tasks against its database.
//
// It only parses settings and wires packages through package app.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app"
	"github.com/ferry-import/ferry/password"
	"github.com/ferry-import/ferry/store"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		os.Exit(1)
	}
}

// settings are the flags shared by serve, worker and admin, each with its
// FERRY_* environment fallback.
type settings struct {
	listen, dataDir, databaseURL, externalURL string
	allowLocal                                bool
	workers                                   int
	metricsListen                             string
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envBool(name string) bool {
	b, _ := strconv.ParseBool(os.Getenv(name))
	return b
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func (s *settings) storageFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.dataDir, "data-dir", envOr("FERRY_DATA_DIR", "ferry-data"), "directory for the SQLite database, repositories and keys (FERRY_DATA_DIR)")
	f.StringVar(&s.databaseURL, "database-url", envOr("FERRY_DATABASE_URL", ""), "postgres://… to use PostgreSQL; empty for embedded SQLite (FERRY_DATABASE_URL)")
}

func (s *settings) serverFlags(cmd *cobra.Command) {
	s.storageFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&s.externalURL, "external-url", envOr("FERRY_EXTERNAL_URL", ""), "public base URL, e.g. https://ferry.example.com (FERRY_EXTERNAL_URL)")
	f.BoolVar(&s.allowLocal, "allow-local-network", envBool("FERRY_ALLOW_LOCAL_NETWORK"), "let imports reach loopback and private addresses (FERRY_ALLOW_LOCAL_NETWORK)")
	f.IntVar(&s.workers, "workers", envInt("FERRY_WORKERS", 4), "jobs run at once by this process (FERRY_WORKERS)")
	f.StringVar(&s.metricsListen, "metrics-listen", envOr("FERRY_METRICS_LISTEN", ""), "serve /metrics on this address only, e.g. 127.0.0.1:9090 (FERRY_METRICS_LISTEN)")
}

func envDuration(name string) time.Duration {
	d, _ := time.ParseDuration(os.Getenv(name))
	return d
}

func (s *settings) appConfig() app.Config {
	return app.Config{
		// Operational tuning, environment only: how soon a dead worker's
		// jobs are taken over, and how long one import job runs at a time.
		JobLease: envDuration("FERRY_JOB_LEASE"), JobRescueAfter: envDuration("FERRY_JOB_RESCUE_AFTER"),
		ImportSlice: envDuration("FERRY_IMPORT_SLICE"), ImportJobTimeout: envDuration("FERRY_IMPORT_JOB_TIMEOUT"),
		ImportStallTimeout: envDuration("FERRY_IMPORT_STALL_TIMEOUT"),
		// GitLab migrations' timeouts (README, "Migrating from GitLab").
		BulkImportStaleAfter: envDuration("FERRY_BULK_IMPORT_STALE_AFTER"), BulkEntityStaleAfter: envDuration("FERRY_BULK_ENTITY_STALE_AFTER"),
		GitLabExportTimeout:            envDuration("FERRY_GITLAB_EXPORT_TIMEOUT"),
		GitLabEmptyExportStatusTimeout: envDuration("FERRY_GITLAB_EMPTY_EXPORT_STATUS_TIMEOUT"),
		Listen:                         s.listen, DataDir: s.dataDir, DatabaseURL: s.databaseURL, ExternalURL: s.externalURL,
		AllowLocalNetwork: s.allowLocal, Workers: s.workers,
		RootToken: os.Getenv("FERRY_ROOT_TOKEN"), SecretKey: os.Getenv("FERRY_SECRET_KEY"),
		// The metrics token is a secret: environment only (ps shows flags).
		MetricsListen: s.metricsListen, MetricsToken: os.Getenv("FERRY_METRICS_TOKEN"),
		Log: slog.New(slog.NewJSONHandler(os.Stderr, nil)),
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "ferry",
		Short:         "ferry imports projects from GitHub, Bitbucket Server and GitLab behind GitLab's REST API",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(newServe(), newWorker(), newAdmin(), newVersion())
	root.AddCommand(newImport())
	return root
}

// run starts an app and blocks until SIGINT/SIGTERM.
func run(cfg app.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func newServe() *cobra.Command {
	var s settings
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API server and job workers",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return run(s.appConfig()) },
	}
	cmd.Flags().StringVar(&s.listen, "listen", envOr("FERRY_LISTEN", "127.0.0.1:8080"), "address to listen on (FERRY_LISTEN)")
	s.serverFlags(cmd)
	return cmd
}

func newWorker() *cobra.Command {
	var s settings
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run job workers only (several machines can share one PostgreSQL)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := s.appConfig()
			cfg.NoHTTP = true
			if cfg.Workers < 1 {
				return fmt.Errorf("--workers must be at least 1 for a worker")
			}
			return run(cfg)
		},
	}
	s.serverFlags(cmd)
	return cmd
}

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print ferry's version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintf(cmd.OutOrStdout(), "ferry %s\n", app.Version) },
	}
}

func newAdmin() *cobra.Command {
	admin := &cobra.Command{Use: "admin", Short: "Administrative tasks on ferry's database"}
	admin.AddCommand(newAdminUser(), newAdminToken())
	return admin
}

// openStore opens the database the way serve does (migrating it).
func openStore(ctx context.Context, s *settings) (*store.Store, error) {
	return store.Open(ctx, store.Config{URL: s.databaseURL, DataDir: s.dataDir})
}

func newAdminUser() *cobra.Command {
	user := &cobra.Command{Use: "user", Short: "Manage users"}
	var s settings
	var u ferry.User
	var pwFile string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !ferry.ValidUsername(u.Username) {
				return fmt.Errorf("--username %q is not a valid username", u.Username)
			}
			if u.Name == "" {
				u.Name = u.Username
			}
			hash, err := passwordFromFile(cmd, pwFile)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := openStore(ctx, &s)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Write(ctx, func(tx *store.Tx) error {
				if err := tx.CreateUser(ctx, &u); err != nil || hash == "" {
					return err
				}
				return tx.SetUserPassword(ctx, u.ID, hash)
			}); err != nil {
				return fmt.Errorf("create user: %s", ferry.ErrorMessage(err))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s (id %d)\n", u.Username, u.ID)
			return nil
		},
	}
	s.storageFlags(create)
	create.Flags().StringVar(&u.Username, "username", "", "username (required)")
	create.Flags().StringVar(&u.Name, "name", "", "display name (default: the username)")
	create.Flags().StringVar(&u.Email, "email", "", "e-mail address")
	create.Flags().BoolVar(&u.IsAdmin, "admin", false, "make the user an administrator")
	create.Flags().StringVar(&pwFile, "password-file", "", "file holding the web sign-in password, - for stdin (default: none; sign in with a token)")
	_ = create.MarkFlagRequired("username")

	var ps settings
	var username, setFile string
	setPassword := &cobra.Command{
		Use:   "password",
		Short: "Set a user's web sign-in password (ends the sessions the old one opened)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hash, err := passwordFromFile(cmd, setFile)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := openStore(ctx, &ps)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Write(ctx, func(tx *store.Tx) error {
				u, err := tx.UserByUsername(ctx, username)
				if err != nil {
					return err
				}
				return tx.SetUserPassword(ctx, u.ID, hash)
			}); err != nil {
				return fmt.Errorf("set password: %s", ferry.ErrorMessage(err))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password of %s set\n", username)
			return nil
		},
	}
	ps.storageFlags(setPassword)
	setPassword.Flags().StringVar(&username, "username", "", "user whose password to set (required)")
	setPassword.Flags().StringVar(&setFile, "password-file", "", "file holding the password, - for stdin (required)")
	_ = setPassword.MarkFlagRequired("username")
	_ = setPassword.MarkFlagRequired("password-file")
	user.AddCommand(create, setPassword)
	return user
}

// passwordFromFile reads a password from a file (- for stdin; never from
// argv, where other users of the machine see it), checks GitLab's length
// rule and hashes it; "" when path is "". Only the line break that ends
// the file is dropped: spaces may be part of a password.
func passwordFromFile(cmd *cobra.Command, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("--password-file: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if strings.ContainsAny(pw, "\r\n") {
		return "", errors.New("--password-file: want the password on one line")
	}
	if err := password.Validate(pw); err != nil {
		return "", fmt.Errorf("--password-file: the password %w", err)
	}
	return password.Hash(pw)
}

func newAdminToken() *cobra.Command {
	tok := &cobra.Command{Use: "token", Short: "Manage personal access tokens"}
	var s settings
	var username, name, scopes, expires string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a personal access token and print it (once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t := &ferry.PersonalAccessToken{Name: name}
			for _, sc := range strings.Split(scopes, ",") {
				if sc = strings.TrimSpace(sc); !ferry.ValidScope(sc) {
					return fmt.Errorf("--scopes: unknown scope %q (api, read_api, read_user, sudo)", sc)
				}
				t.Scopes = append(t.Scopes, strings.TrimSpace(sc))
			}
			if expires != "" {
				d, err := time.Parse("2006-01-02", expires)
				if err != nil {
					return fmt.Errorf("--expires-at: want YYYY-MM-DD: %w", err)
				}
				t.ExpiresAt = &d
			}
			ctx := cmd.Context()
			st, err := openStore(ctx, &s)
			if err != nil {
				return err
			}
			defer st.Close()
			err = st.Write(ctx, func(tx *store.Tx) error {
				u, err := tx.UserByUsername(ctx, username)
				if err != nil {
					return err
				}
				// The API's rule: no placeholder owner, no past expiry.
				return tx.CreateValidToken(ctx, t, u)
			})
			if err != nil {
				return fmt.Errorf("create token: %s", strings.TrimPrefix(ferry.ErrorMessage(err), "400 Bad request - "))
			}
			fmt.Fprintln(cmd.OutOrStdout(), t.Token)
			return nil
		},
	}
	s.storageFlags(create)
	create.Flags().StringVar(&username, "username", "root", "user the token belongs to")
	create.Flags().StringVar(&name, "name", "ferry-admin", "token name")
	create.Flags().StringVar(&scopes, "scopes", "api", "comma-separated scopes: api, read_api, read_user, sudo (administrators only)")
	create.Flags().StringVar(&expires, "expires-at", "", "expiry date YYYY-MM-DD (default: none)")
	tok.AddCommand(create)
	return tok
}
