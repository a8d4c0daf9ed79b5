package gitstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// gitCmd describes one git invocation. Everything that varies between calls
// is here so that buildCmd alone decides argv and environment.
type gitCmd struct {
	Dir    string   // working directory (usually a bare repository)
	Args   []string // arguments after "git"; never secrets
	Config []kv     // passed as GIT_CONFIG_KEY_n/VALUE_n, never as -c in argv
	Env    []string // extra KEY=VALUE (GIT_PROTOCOL, GIT_ALLOW_PROTOCOL)
	Stdin  io.Reader
	Stdout io.Writer // nil: collected and returned by run
	// Secrets are scrubbed from stderr before it is put into an error.
	Secrets []string
	// Progress, when set, receives git's progress meters (the command
	// must ask for them with --progress); they are kept out of stderr.
	Progress func(Progress)
}

type kv struct{ Key, Value string }

// maxStderr bounds what run keeps of git's stderr: enough for a diagnosis,
// not enough for a hostile remote to fill memory.
const maxStderr = 32 << 10

// allowedEnv are the only variables inherited from the process; everything
// else (GIT_DIR, GIT_TRACE*, GIT_SSH_COMMAND, XDG_CONFIG_HOME…) could change
// what git does or leak what it sends.
var allowedEnv = []string{"PATH", "TMPDIR"}

// buildCmd constructs the exec.Cmd for c. It is separate from run so tests can
// inspect argv and environment without running git.
func (s *Store) buildCmd(ctx context.Context, c gitCmd) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.gitBinary(), c.Args...)
	cmd.Dir = c.Dir
	env := make([]string, 0, 16+2*len(c.Config))
	for _, k := range allowedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env,
		"HOME="+s.homeDir(),
		"LANG=C", "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_ATTR_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=", "SSH_ASKPASS=",
		// No transport unless the caller allows one for this call.
		"GIT_ALLOW_PROTOCOL=",
	)
	config := append([]kv{
		{"init.defaultBranch", "main"},
		{"core.hooksPath", "/dev/null"},
		{"credential.helper", ""},
		{"advice.detachedHead", "false"},
	}, c.Config...)
	env = append(env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(config)))
	for i, e := range config {
		n := strconv.Itoa(i)
		env = append(env, "GIT_CONFIG_KEY_"+n+"="+e.Key, "GIT_CONFIG_VALUE_"+n+"="+e.Value)
	}
	// Later entries win in exec, so c.Env overrides GIT_ALLOW_PROTOCOL.
	cmd.Env = append(env, c.Env...)
	cmd.Stdin = c.Stdin
	// A killed git may leave children (remote helpers) holding the pipes;
	// WaitDelay makes Wait return anyway.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs git. It is the only place in the package that starts git: every
// call gets the clean environment of buildCmd, and its stderr, scrubbed of
// c.Secrets, becomes part of the returned error.
func (s *Store) run(ctx context.Context, c gitCmd) ([]byte, error) {
	cmd := s.buildCmd(ctx, c)
	var stdout bytes.Buffer
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	} else {
		cmd.Stdout = &stdout
	}
	stderr := &limitedBuffer{max: maxStderr}
	cmd.Stderr = stderr
	var meters *progressWriter
	if c.Progress != nil {
		meters = &progressWriter{next: stderr, report: c.Progress}
		cmd.Stderr = meters
	}
	err := cmd.Run()
	if meters != nil {
		_ = meters.flush() // a limitedBuffer never fails
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		msg := strings.TrimSpace(scrub(stderr.String(), c.Secrets))
		verb := "git"
		if len(c.Args) > 0 {
			verb = "git " + c.Args[0]
		}
		if msg == "" {
			return nil, fmt.Errorf("%s: %w", verb, err)
		}
		return nil, &gitError{verb: verb, stderr: msg, err: err}
	}
	return stdout.Bytes(), nil
}

// gitError keeps git's (scrubbed) stderr apart so callers can classify it.
type gitError struct {
	verb, stderr string
	err          error
}

func (e *gitError) Error() string { return fmt.Sprintf("%s: %v: %s", e.verb, e.err, e.stderr) }
func (e *gitError) Unwrap() error { return e.err }

// stderrOf returns git's stderr carried by err, or "".
func stderrOf(err error) string {
	var ge *gitError
	if errors.As(err, &ge) {
		return ge.stderr
	}
	return ""
}

// scrub replaces every secret, and the encodings in which git or curl might
// echo it, with a marker.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec), base64.StdEncoding.EncodeToString([]byte(sec))} {
			s = strings.ReplaceAll(s, form, "[REDACTED]")
		}
	}
	return s
}

type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string { return b.buf.String() }
