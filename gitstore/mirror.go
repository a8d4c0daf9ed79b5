package gitstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/ferry-import/ferry"
)

// Credential authenticates to a source. It reaches git only through
// environment-borne config (http.extraHeader), never argv or URLs.
type Credential struct {
	// Username and Password are sent as HTTP basic auth when Password is
	// set. GitHub accepts any username with a token as password; GitLab
	// wants "oauth2"; Bitbucket Server a user name and token.
	Username string
	Password string
	// Bearer, if set, is sent as "Authorization: Bearer <Bearer>" instead.
	Bearer string
	// Fresh, when set, gives the credential to use at the start of each
	// operation (a token that expires, such as a GitHub App installation
	// token, is renewed there); the fields above are then ignored.
	Fresh func(ctx context.Context) (Credential, error)
}

// resolve is the credential an operation uses: Fresh's answer, if set.
func (c Credential) resolve(ctx context.Context) (Credential, error) {
	if c.Fresh == nil {
		return c, nil
	}
	f, err := c.Fresh(ctx)
	if err != nil {
		return Credential{}, fmt.Errorf("source credential: %w", err)
	}
	f.Fresh = nil
	return f, nil
}

// authorization is the Authorization header value, or "".
func (c Credential) authorization() string {
	switch {
	case c.Bearer != "":
		return "Bearer " + c.Bearer
	case c.Password != "":
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
	}
	return ""
}

// secrets are the strings to scrub from anything git prints.
func (c Credential) secrets() []string {
	var s []string
	if c.Password != "" {
		s = append(s, c.Password, c.Username+":"+c.Password)
	}
	if c.Bearer != "" {
		s = append(s, c.Bearer)
	}
	if a := c.authorization(); a != "" {
		s = append(s, a, strings.TrimPrefix(strings.TrimPrefix(a, "Basic "), "Bearer "))
	}
	return s
}

// remoteConfig is the git config for talking to a source: credentials as an
// extra header, and no redirects, so that the vetted URL is the only host git
// contacts (and the header goes nowhere else).
func (c Credential) remoteConfig() []kv {
	cfg := []kv{{"http.followRedirects", "false"}}
	if a := c.authorization(); a != "" {
		cfg = append(cfg, kv{"http.extraHeader", "Authorization: " + a})
	}
	return cfg
}

// Refspecs for each kind of source: branches and tags, and the source's
// merge request heads mapped to GitLab's refs/merge-requests/<iid>/head.

// GitHubRefspecs maps refs/pull/N/head.
func GitHubRefspecs() []string {
	return []string{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", "+refs/pull/*/head:refs/merge-requests/*/head"}
}

// BitbucketServerRefspecs maps refs/pull-requests/N/from.
func BitbucketServerRefspecs() []string {
	return []string{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", "+refs/pull-requests/*/from:refs/merge-requests/*/head"}
}

// GitLabRefspecs keeps refs/merge-requests/N/head.
func GitLabRefspecs() []string {
	return []string{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", "+refs/merge-requests/*/head:refs/merge-requests/*/head"}
}

// WikiRefspecs copies a wiki: branches and tags only.
func WikiRefspecs() []string {
	return []string{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}
}

// Mirror makes the repository of project id an exact copy of the source's
// refs as mapped by refspecs (GitHubRefspecs if none), creating it if needed
// and pruning refs the source no longer has. HEAD follows the source's HEAD.
// sourceURL must be http(s) without user info; cred carries the credential.
func (s *Store) Mirror(ctx context.Context, id int64, sourceURL string, cred Credential, refspecs ...string) error {
	if len(refspecs) == 0 {
		refspecs = GitHubRefspecs()
	}
	if err := s.mirror(ctx, id, false, sourceURL, cred, refspecs); err != nil {
		return fmt.Errorf("mirror %d: %w", id, err)
	}
	return nil
}

// MirrorWiki mirrors a source wiki repository into the wiki of project id.
// An error wrapping ErrNotFound means the source has no wiki.
func (s *Store) MirrorWiki(ctx context.Context, id int64, sourceURL string, cred Credential) error {
	if err := s.mirror(ctx, id, true, sourceURL, cred, WikiRefspecs()); err != nil {
		return fmt.Errorf("mirror wiki %d: %w", id, err)
	}
	return nil
}

// FetchBundle fetches the refs of a git bundle file into project id, mapped
// by refspecs (GitHubRefspecs if none), creating the repository if needed.
func (s *Store) FetchBundle(ctx context.Context, id int64, bundlePath string, refspecs ...string) error {
	if len(refspecs) == 0 {
		refspecs = GitHubRefspecs()
	}
	abs, err := filepath.Abs(bundlePath)
	if err != nil {
		return fmt.Errorf("fetch bundle %d: %w", id, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("fetch bundle %d: %w", id, err)
	}
	if err := s.fetch(ctx, id, false, remote{url: abs, protocols: "file"}, refspecs); err != nil {
		return fmt.Errorf("fetch bundle %d: %w", id, err)
	}
	return nil
}

// remote is where a fetch reads from.
type remote struct {
	url       string
	protocols string // GIT_ALLOW_PROTOCOL
	cred      Credential
}

func (s *Store) mirror(ctx context.Context, id int64, wiki bool, sourceURL string, cred Credential, refspecs []string) error {
	cred, err := cred.resolve(ctx)
	if err != nil {
		return err
	}
	u, err := url.Parse(sourceURL)
	if err != nil {
		// url errors quote the URL, which may hold a secret.
		return fmt.Errorf("source URL: %w", ErrInvalid)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("source URL scheme %q: %w", u.Scheme, ErrInvalid)
	}
	if u.User != nil {
		return fmt.Errorf("source URL must not carry credentials (use Credential): %w", ErrInvalid)
	}
	if err := s.vetURL(ctx, u); err != nil {
		return err
	}
	err = s.fetch(ctx, id, wiki, remote{url: u.String(), protocols: "http:https", cred: cred}, refspecs)
	switch {
	case err == nil:
	case isRemoteNotFound(err):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case isRemoteUnauthorized(err):
		// git asks for a username after a 401 even when it sent a header;
		// say plainly what happened.
		return fmt.Errorf("source refused the credential: %w: %w", ErrUnauthorized, err)
	}
	return err
}

func (s *Store) vetURL(ctx context.Context, u *url.URL) error {
	if s.checkURL == nil {
		return nil
	}
	if err := s.checkURL(ctx, u); err != nil {
		return fmt.Errorf("%s://%s refused: %w", u.Scheme, u.Host, err)
	}
	return nil
}

// fetch creates the repository if needed and fetches refspecs from r into it
// under the project lock. A repository created by a failed fetch is removed,
// so Exists stays false until there is something to serve.
func (s *Store) fetch(ctx context.Context, id int64, wiki bool, r remote, refspecs []string) error {
	for _, rs := range refspecs {
		if strings.HasPrefix(rs, "-") || !strings.Contains(rs, ":") {
			return fmt.Errorf("refspec %q: %w", rs, ErrInvalid)
		}
	}
	unlock, err := s.lock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	dir := s.repoPath(id, wiki)
	created := false
	if !isRepo(dir) {
		if err := s.initRepo(ctx, dir); err != nil {
			return err
		}
		created = true
	}
	advertised, err := s.fetchInto(ctx, dir, r, refspecs)
	if err != nil && created {
		_ = s.removeDir(dir)
	}
	if err == nil && !wiki {
		if o := observerOf(ctx); o.Advertised != nil {
			o.Advertised(advertised)
		}
	}
	return err
}

// withRemote runs fn with a git command set up to reach r from dir: its
// credential, the allowed protocols and, for network remotes, the dial
// proxy that keeps git on addresses the guard allows.
func (s *Store) withRemote(ctx context.Context, dir string, r remote, fn func(c gitCmd) error) (err error) {
	c := gitCmd{
		Dir: dir,
		// A transfer that stalls for 10 minutes ends the mirror: its job's
		// lease would otherwise keep a hung git alive for the job's timeout.
		Config:  append([]kv{{"http.lowSpeedLimit", "1"}, {"http.lowSpeedTime", "600"}}, r.cred.remoteConfig()...),
		Env:     []string{"GIT_ALLOW_PROTOCOL=" + r.protocols},
		Secrets: r.cred.secrets(),
	}
	if s.dial != nil && r.protocols != "file" {
		p, pErr := startProxy(ctx, s.dial)
		if pErr != nil {
			return fmt.Errorf("start dial proxy: %w", pErr)
		}
		defer p.Close()
		c.Config = append(c.Config, kv{"http.proxy", p.URL()})
		c.Secrets = append(c.Secrets, p.pass)
		// git only reports the proxy's 502; say why the dial failed.
		defer func() {
			if err != nil {
				if dErr := p.DialErr(); dErr != nil {
					err = fmt.Errorf("connect to source: %w: %w", dErr, err)
				}
			}
		}()
	}
	return fn(c)
}

func (s *Store) fetchInto(ctx context.Context, dir string, r remote, refspecs []string) (advertised RefCounts, err error) {
	err = s.withRemote(ctx, dir, r, func(c gitCmd) error {
		// Ask for HEAD and the refs to fetch first: HEAD tells the source's
		// default branch and fails fast on a wrong URL or credential; the
		// refs are what the source declares it holds, for the import's
		// verification.
		c.Args = append([]string{"ls-remote", "--symref", "--end-of-options", r.url, "HEAD"}, refspecSources(refspecs)...)
		out, err := s.run(ctx, c)
		if err != nil {
			return err
		}
		head := ""
		headSHA := ""
		var names []string
		for _, l := range lines(out) {
			if target, ok := strings.CutPrefix(l, "ref: "); ok {
				head, _, _ = strings.Cut(target, "\t")
			} else if sha, name, ok := strings.Cut(l, "\t"); ok && name == "HEAD" {
				headSHA = sha
			} else if ok {
				names = append(names, name)
			}
		}
		advertised = countMapped(names, refspecs)
		c.Args = append([]string{"fetch", "--prune", "--no-write-fetch-head", quietOrProgress(ctx, &c), "--end-of-options", r.url}, refspecs...)
		if _, err := s.run(ctx, c); err != nil {
			return err
		}
		return s.fixHead(ctx, dir, head, headSHA)
	})
	return advertised, err
}

var shaPattern = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// FetchCommits fetches commits by id from sourceURL into the existing
// repository of project id: refs maps each ref to set (such as
// refs/merge-requests/3/head or refs/keep-around/<sha>) to its commit.
// Sources drop the refs of closed pull requests but keep their commits,
// which a mirror then lacks. Commits already here only get their refs. A
// commit the source will not give is skipped and listed in missing, as
// GitLab's importer skips an "unadvertised object".
func (s *Store) FetchCommits(ctx context.Context, id int64, sourceURL string, cred Credential, refs map[string]string) (missing []string, err error) {
	if cred, err = cred.resolve(ctx); err != nil {
		return nil, err
	}
	u, err := url.Parse(sourceURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("fetch commits %d: source URL: %w", id, ErrInvalid)
	}
	if err := s.vetURL(ctx, u); err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(refs))
	bySHA := map[string][]string{}
	for _, ref := range names {
		sha := refs[ref]
		if !shaPattern.MatchString(sha) || !strings.HasPrefix(ref, "refs/") || !ferry.ValidRefName(ref) {
			return nil, fmt.Errorf("fetch commits %d: %s → %s: %w", id, ref, sha, ErrInvalid)
		}
		bySHA[sha] = append(bySHA[sha], ref)
	}
	unlock, err := s.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	dir := s.repoPath(id, false)
	if !isRepo(dir) {
		return nil, fmt.Errorf("fetch commits %d: %w", id, ErrNotFound)
	}
	// One git each to ask which commits are here and to set the refs: a
	// page of pull requests names hundreds.
	shas := slices.Sorted(maps.Keys(bySHA))
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"cat-file", "--batch-check=%(objectname) %(objecttype)"},
		Stdin: strings.NewReader(strings.Join(shas, "\n") + "\n")})
	if err != nil {
		return nil, fmt.Errorf("fetch commits %d: %w", id, err)
	}
	here := map[string]bool{}
	for _, l := range lines(out) {
		if sha, typ, ok := strings.Cut(l, " "); ok && typ == "commit" {
			here[sha] = true
		}
	}
	var fetch []string // commits not here yet
	for _, sha := range shas {
		if !here[sha] {
			fetch = append(fetch, sha)
		}
	}
	if len(fetch) > 0 {
		r := remote{url: u.String(), protocols: "http:https", cred: cred}
		err = s.withRemote(ctx, dir, r, func(c gitCmd) error {
			get := func(shas []string) error {
				c.Args = []string{"fetch", "--no-write-fetch-head", quietOrProgress(ctx, &c), "--no-tags", "--end-of-options", r.url}
				for _, sha := range shas {
					c.Args = append(c.Args, "+"+sha+":"+bySHA[sha][0])
				}
				_, err := s.run(ctx, c)
				return err
			}
			if err := get(fetch); err == nil || !isUnavailableObject(err) {
				return err
			}
			// One of them is not to be had: take the others one by one.
			for _, sha := range fetch {
				if err := get([]string{sha}); err != nil {
					if !isUnavailableObject(err) {
						return err
					}
					missing = append(missing, sha)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("fetch commits %d: %w", id, err)
		}
	}
	var updates strings.Builder
	for _, ref := range names {
		if !slices.Contains(missing, refs[ref]) {
			fmt.Fprintf(&updates, "update %s %s\n", ref, refs[ref])
		}
	}
	if updates.Len() > 0 {
		if _, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"update-ref", "--stdin"}, Stdin: strings.NewReader(updates.String())}); err != nil {
			return nil, fmt.Errorf("fetch commits %d: %w", id, err)
		}
	}
	return missing, nil
}

// isUnavailableObject reports a source refusing a commit it does not
// have or will not give.
func isUnavailableObject(err error) bool {
	msg := strings.ToLower(stderrOf(err))
	return strings.Contains(msg, "not our ref") || strings.Contains(msg, "unadvertised object") ||
		strings.Contains(msg, "couldn't find remote ref") || strings.Contains(msg, "no such remote ref") ||
		strings.Contains(msg, "upload-pack: not our ref")
}

// fixHead points HEAD at the source's default branch if we have it; else
// keeps a HEAD that still resolves; else picks a branch at the source HEAD's
// commit, then main, master, or the first branch.
func (s *Store) fixHead(ctx context.Context, dir, sourceHead, sourceHeadSHA string) error {
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"for-each-ref", "--format=%(refname:lstrip=2) %(objectname)", "refs/heads/"}})
	if err != nil {
		return err
	}
	var names []string
	at := map[string]string{}
	for _, l := range lines(out) {
		name, sha, _ := strings.Cut(l, " ")
		names = append(names, name)
		at[name] = sha
	}
	if len(names) == 0 {
		return nil
	}
	if b, ok := strings.CutPrefix(sourceHead, "refs/heads/"); ok && at[b] != "" {
		return s.setHead(ctx, dir, b)
	}
	if cur, _ := s.defaultBranch(ctx, dir); at[cur] != "" && (sourceHeadSHA == "" || at[cur] == sourceHeadSHA) {
		return nil
	}
	candidates := []string{}
	for _, n := range names {
		if at[n] == sourceHeadSHA {
			candidates = append(candidates, n)
		}
	}
	candidates = append(candidates, "main", "master", names[0])
	for _, b := range candidates {
		if at[b] != "" {
			return s.setHead(ctx, dir, b)
		}
	}
	return nil
}

// isRemoteNotFound reports whether a git failure says the remote repository
// does not exist.
func isRemoteNotFound(err error) bool {
	msg := strings.ToLower(stderrOf(err))
	return strings.Contains(msg, "not found") || strings.Contains(msg, "error: 404") ||
		strings.Contains(msg, "does not appear to be a git repository")
}

// isRemoteUnauthorized reports whether a git failure is the source refusing
// (or demanding) credentials.
func isRemoteUnauthorized(err error) bool {
	msg := strings.ToLower(stderrOf(err))
	return strings.Contains(msg, "could not read username") || strings.Contains(msg, "authentication failed") ||
		strings.Contains(msg, "error: 401") || strings.Contains(msg, "error: 403")
}
