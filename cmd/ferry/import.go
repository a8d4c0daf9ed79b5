package main

// ferry import: a client of a running ferry that starts imports, watches
// them with live progress, lists and cancels them (package cliclient is
// its HTTP client). Secrets are read from files or stdin, never argv.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-import/ferry/cliclient"
)

// Exit codes of ferry import.
const (
	exitFailed  = 1 // an import failed, was canceled or finished with failures; or ferry refused
	exitUsage   = 2 // the command line is wrong
	exitRunning = 3 // the import has not ended yet: status without --watch, or watching stopped by Ctrl-C
)

// usageError is a wrong command line: exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// exitError ends the command with code; its message (if any) was printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// importOpts are the flags every import subcommand shares.
type importOpts struct {
	url, tokenFile string
	refusedToken   string // --token: refused, secrets never in argv
	refusedSource  string // --source-token: refused likewise
	json           bool
	interval       time.Duration
	progress       string // auto | bars | plain

	stdin          io.Reader
	stdout, stderr io.Writer
	stdinTaken     string // which flag read stdin already
}

const sourceTokenRefusal = "--source-token is refused: a token on the command line is visible to every user of this machine (ps, shell history). " +
	"Put it in a file and pass --source-token-file FILE, or pipe it in with --source-token-file -"

const tokenRefusal = "--token is refused: a token on the command line is visible to every user of this machine (ps, shell history). " +
	"Set FERRY_TOKEN, or pass --token-file FILE (- reads stdin)"

func newImport() *cobra.Command {
	o := &importOpts{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Start, watch, list and cancel imports on a running ferry",
		Long: `ferry import is a client of a running ferry (--url or FERRY_URL), authenticated with a
personal access token (FERRY_TOKEN or --token-file). Source credentials are read from
--source-token-file FILE, or - for stdin (for GitHub, an App's key from
--github-app-private-key-file, more accounts' tokens from --additional-token-file);
never from a flag's value.

Exit codes: 0 the import finished cleanly (no failed relation, verification not failed);
1 it failed, was canceled or finished with failures (printed), or ferry refused the request;
2 the command line is wrong; 3 (status without --watch) it has not ended yet.`,
		Args: cobra.ArbitraryArgs,
		RunE: o.run(func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown import command %q", args[0])
			}
			return usagef("name what to do: github, bitbucket-server, gitlab, status, list, cancel or batch")
		}),
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.url, "url", envOr("FERRY_URL", "http://127.0.0.1:8080"), "ferry's base URL (FERRY_URL)")
	pf.StringVar(&o.tokenFile, "token-file", "", "file holding ferry's personal access token, - for stdin (default: FERRY_TOKEN)")
	pf.StringVar(&o.refusedToken, "token", "", "refused: use FERRY_TOKEN or --token-file")
	pf.StringVar(&o.refusedSource, "source-token", "", "refused: use --source-token-file")
	// Bare --token or --source-token parse too, to be refused clearly.
	pf.Lookup("token").NoOptDefVal = " "
	pf.Lookup("source-token").NoOptDefVal = " "
	_ = pf.MarkHidden("token")
	_ = pf.MarkHidden("source-token")
	pf.BoolVar(&o.json, "json", false, "print the final status object as JSON on stdout (progress goes to stderr)")
	pf.DurationVar(&o.interval, "interval", time.Second, "how often to poll ferry while watching")
	pf.StringVar(&o.progress, "progress", "auto", "progress display: auto (bars on a terminal, lines otherwise), bars or plain")
	// Any flag error below import is a usage error: exit 2.
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		o.usageExit(c, err)
		return err
	})
	cmd.AddCommand(o.newGitHub(), o.newBitbucketServer(), o.newGitLab(), o.newStatus(), o.newList(), o.newCancel(), o.newBatch())
	return cmd
}

// usageExit prints a usage error and exits 2.
func (o *importOpts) usageExit(c *cobra.Command, err error) {
	fmt.Fprintf(o.stderr, "Error: %v\nRun '%s --help' for usage.\n", err, c.CommandPath())
	os.Exit(exitUsage)
}

// run wraps a subcommand: it refuses secrets in argv, checks the flags
// shared by all, and turns errors into ferry import's exit codes.
func (o *importOpts) run(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := o.check(cmd)
		if err == nil {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			cmd.SetContext(ctx)
			err = fn(cmd, args)
			stop()
		}
		var ue usageError
		var ee exitError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ue):
			o.usageExit(cmd, err)
		case errors.As(err, &ee):
			os.Exit(ee.code)
		}
		var fe *cliclient.Error
		if errors.As(err, &fe) {
			fmt.Fprintf(o.stderr, "Error: %s\n", fe.Error())
		} else {
			fmt.Fprintf(o.stderr, "Error: %v\n", err)
		}
		os.Exit(exitFailed)
		return nil
	}
}

func (o *importOpts) check(cmd *cobra.Command) error {
	if cmd.Flags().Changed("source-token") {
		return usageError{sourceTokenRefusal}
	}
	if cmd.Flags().Changed("token") {
		return usageError{tokenRefusal}
	}
	if o.interval <= 0 {
		return usagef("--interval must be positive")
	}
	switch o.progress {
	case "auto", "bars", "plain":
	default:
		return usagef("--progress %q: want auto, bars or plain", o.progress)
	}
	return nil
}

// readSecret reads a secret from path, or stdin for "-", trimmed of
// surrounding white space. Its errors never contain the secret.
func (o *importOpts) readSecret(flag, path string) (string, error) {
	b, err := o.readSecretFile(flag, path, 1<<20)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return "", usagef("%s: want one token on one line", flag)
	}
	return s, nil
}

// readSecretFile reads up to limit bytes of the file at path, or of
// stdin for "-" (once: a second flag asking for stdin is a usage error).
// Its errors name the flag, never what was read.
func (o *importOpts) readSecretFile(flag, path string, limit int64) ([]byte, error) {
	if path != "-" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, usagef("%s: %v", flag, err)
		}
		return b, nil
	}
	if o.stdinTaken != "" {
		return nil, usagef("%s -: stdin is already read for %s", flag, o.stdinTaken)
	}
	o.stdinTaken = flag
	b, err := io.ReadAll(io.LimitReader(o.stdin, limit))
	if err != nil {
		return nil, usagef("%s: %v", flag, err)
	}
	return b, nil
}

// client is the ferry client the flags name.
func (o *importOpts) client() (*cliclient.Client, error) {
	token := os.Getenv("FERRY_TOKEN")
	if o.tokenFile != "" {
		t, err := o.readSecret("--token-file", o.tokenFile)
		if err != nil {
			return nil, err
		}
		token = t
	}
	if token == "" {
		return nil, usagef("no ferry token: set FERRY_TOKEN or pass --token-file")
	}
	c, err := cliclient.New(o.url, token)
	if err != nil {
		return nil, usagef("--url: %v", err)
	}
	return c, nil
}

// sourceToken reads --source-token-file, required.
// startClient reads the source's token (before the ferry client, so a
// missing one is a usage error first) and returns it with the client.
func (o *importOpts) startClient(tokenFile string) (string, *cliclient.Client, error) {
	tok, err := o.sourceToken(tokenFile)
	if err != nil {
		return "", nil, err
	}
	c, err := o.client()
	if err != nil {
		return "", nil, err
	}
	return tok, c, nil
}

// idClient checks the one import id argument and --kind of a command that
// acts on an import, and returns them with the client.
func (o *importOpts) idClient(args []string, verb, kind string) (int64, string, *cliclient.Client, error) {
	if len(args) != 1 {
		return 0, "", nil, usagef("%s takes one import id", verb)
	}
	id, err := parseID(args[0])
	if err != nil {
		return 0, "", nil, err
	}
	if kind, err = kindOf(kind); err != nil {
		return 0, "", nil, err
	}
	c, err := o.client()
	if err != nil {
		return 0, "", nil, err
	}
	return id, kind, c, nil
}

func (o *importOpts) sourceToken(path string) (string, error) {
	if path == "" {
		return "", usagef("--source-token-file is required (a file holding the source's token, or - for stdin)")
	}
	return o.readSecret("--source-token-file", path)
}

// info writes a line for people: stdout, or stderr when stdout is JSON.
func (o *importOpts) info() io.Writer {
	if o.json {
		return o.stderr
	}
	return o.stdout
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, usagef("%q is not an import id", s)
	}
	return id, nil
}

func asError[T error](err error, target *T) bool { return errors.As(err, target) }
