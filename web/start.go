package web

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// Starter starts imports through the API's own pipeline (the API server,
// wired in app): the web passes the form's values under the API's
// parameter names and shows the API's messages; it never validates an
// import itself, nor reaches a source.
type Starter interface {
	// StartImport runs POST /import/<sourceType> (github,
	// bitbucket_server) for u and returns the new project's id.
	StartImport(ctx context.Context, u *ferry.User, sourceType string, form url.Values) (int64, error)
	// StartMigration runs POST /bulk_imports for u and returns the
	// migration's id.
	StartMigration(ctx context.Context, u *ferry.User, form url.Values) (int64, error)
	// ListRepos lists one page (form's page) of the repositories the
	// source credential (form's personal_access_token, or a GitHub App's
	// github_app_id, github_app_installation_id and github_app_private_key)
	// reads, with the next page's number (0: none).
	ListRepos(ctx context.Context, u *ferry.User, sourceType string, form url.Values) ([]SourceRepo, int, error)
}

// SourceRepo is a repository a source token may import.
type SourceRepo struct {
	Ref         string // the import's repository reference (GitHub's repo_id)
	FullName    string
	Description string
	Private     bool
}

// Form field names: the API's parameters, plus the web's own.
const (
	tokenField = "personal_access_token"
	// sealedField carries the GitHub credentials (githubCreds) between the
	// listing and the import, sealed (see seal).
	sealedField = "sealed_token"
	// entityRows is how many entities the migration form offers.
	entityRows = 3
	// sealTTL bounds how long a listed page may be submitted.
	sealTTL = time.Hour
)

// githubStages are the optional stages a GitHub import offers.
var githubStages = []struct{ Name, Label string }{
	{"single_endpoint_notes_import", "Import comments and notes one request at a time (slower, finds more on large repositories)"},
	{"attachments_import", "Import attachments (files linked from descriptions and comments)"},
	{"collaborators_import", "Import collaborators as members (the token needs read:org)"},
}

// startForm is what a start page shows: the values typed (never a token),
// the error, the namespaces offered.
type startForm struct {
	Values     map[string]string
	Error      string
	Namespaces []string
	CanWrite   bool
}

func (h *Handler) newImport(w http.ResponseWriter, r *http.Request) {
	s := h.signedIn(w, r)
	if s == nil {
		return
	}
	h.render(w, r, http.StatusOK, "new_import", s, map[string]any{"Title": "New import", "Enabled": h.starter != nil, "CanWrite": s.canWrite()})
}

// startPage begins a start handler: the session, and for a POST its CSRF
// check and a bounded body. nil when the response is already written.
func (h *Handler) startPage(w http.ResponseWriter, r *http.Request) *session {
	var s *session
	if r.Method == http.MethodPost {
		s = h.formPost(w, r, 256<<10)
	} else {
		s = h.signedIn(w, r)
	}
	if s == nil {
		return nil
	}
	if h.starter == nil {
		h.render(w, r, http.StatusNotFound, "error", s, map[string]any{"Title": "Not found", "Message": "Starting imports from the web is not enabled."})
		return nil
	}
	return s
}

var errReadOnly = ferry.Errorf(ferry.EFORBIDDEN, "Starting an import needs a session signed in with a token of the api scope; this one may only read.")

// formError is what a start page shows for err: the API's message, or
// for a failure of ferry's own a generic one (the cause is logged).
func (h *Handler) formError(r *http.Request, err error) (int, string) {
	switch ferry.ErrorCode(err) {
	case ferry.EINTERNAL:
		h.log.ErrorContext(r.Context(), "web start import", "error", err)
		return http.StatusInternalServerError, "Internal error."
	case ferry.EFORBIDDEN:
		return http.StatusForbidden, ferry.ErrorMessage(err)
	case ferry.ERATELIMIT:
		return http.StatusTooManyRequests, ferry.ErrorMessage(err)
	case ferry.ENOTIMPLEMENTED:
		return http.StatusNotImplemented, ferry.ErrorMessage(err)
	}
	return http.StatusUnprocessableEntity, ferry.ErrorMessage(err)
}

// keep copies the named fields the user typed, for the form to show again.
func keep(r *http.Request, names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = r.PostFormValue(n)
	}
	return m
}

// namespaces are the full paths s's user may create projects in: their
// own namespace first, then the groups where they are a Maintainer or
// more (every group for administrators), at most 200.
func (h *Handler) namespaces(ctx context.Context, s *session) ([]string, error) {
	var out []string
	err := h.store.Read(ctx, func(tx *store.Tx) error {
		own, err := tx.NamespaceByID(ctx, s.user.NamespaceID)
		if err != nil {
			return err
		}
		out = append(out, own.FullPath)
		f := store.NamespaceFilter{Viewer: store.Viewer{UserID: s.user.ID, Admin: s.user.IsAdmin}, Kind: ferry.KindGroup, OrderBy: "full_path"}
		if !s.user.IsAdmin {
			f.MemberOnly, f.MinAccessLevel = true, ferry.MaintainerAccess
		}
		list, _, err := tx.ListNamespaces(ctx, f, store.Page{Page: 1, PerPage: 200})
		if err != nil {
			return err
		}
		for _, n := range list {
			out = append(out, n.FullPath)
		}
		return nil
	})
	return out, err
}

// ---- GitHub ----

func (h *Handler) newGitHub(w http.ResponseWriter, r *http.Request) {
	s := h.startPage(w, r)
	if s == nil {
		return
	}
	h.render(w, r, http.StatusOK, "new_github", s, map[string]any{"Title": "Import from GitHub",
		"Form": startForm{Values: map[string]string{}, CanWrite: s.canWrite()}})
}

// githubCreds are the secrets of a GitHub import: a token or an App
// installation (the API tells which is wrong), and tokens of other
// accounts. They travel between the listing and the import sealed as one
// (see seal), never in a URL, a log or a page.
type githubCreds struct {
	Token          string   `json:"t,omitempty"`
	AppID          string   `json:"a,omitempty"` // not secret, sealed with the key it goes with
	InstallationID string   `json:"i,omitempty"`
	PrivateKey     string   `json:"k,omitempty"`
	Additional     []string `json:"x,omitempty"`
}

// Form fields of a GitHub App and of the other accounts' tokens (the
// API's names; the textarea holds one token a line).
const (
	appIDField          = "github_app_id"
	installationIDField = "github_app_installation_id"
	appKeyField         = "github_app_private_key"
	additionalField     = "additional_access_tokens"
)

// typedGitHubCreds reads what the form's fields hold.
func typedGitHubCreds(r *http.Request) githubCreds {
	c := githubCreds{Token: strings.TrimSpace(r.PostFormValue(tokenField)), AppID: strings.TrimSpace(r.PostFormValue(appIDField)),
		InstallationID: strings.TrimSpace(r.PostFormValue(installationIDField)), PrivateKey: strings.TrimSpace(r.PostFormValue(appKeyField))}
	for _, line := range strings.Split(r.PostFormValue(additionalField), "\n") {
		if t := strings.TrimSpace(line); t != "" {
			c.Additional = append(c.Additional, t)
		}
	}
	return c
}

func (c githubCreds) empty() bool {
	return c.Token == "" && c.AppID == "" && c.InstallationID == "" && c.PrivateKey == "" && len(c.Additional) == 0
}

func (c githubCreds) app() bool { return c.AppID != "" || c.InstallationID != "" || c.PrivateKey != "" }

// set puts the credential into an API form under the endpoint's names:
// personal_access_token or the App's three parameters (both when both
// were typed, for the API to refuse), and with additional the other
// accounts' tokens.
func (c githubCreds) set(form url.Values, additional bool) {
	if c.Token != "" || !c.app() {
		form.Set(tokenField, c.Token)
	}
	if c.app() {
		form.Set(appIDField, c.AppID)
		form.Set(installationIDField, c.InstallationID)
		form.Set(appKeyField, c.PrivateKey)
	}
	if additional {
		for _, t := range c.Additional {
			form.Add(additionalField+"[]", t)
		}
	}
}

// githubCredsOf are the GitHub credentials of a POST: typed, or sealed by
// the listing.
func (h *Handler) githubCredsOf(r *http.Request, s *session) (githubCreds, error) {
	if c := typedGitHubCreds(r); !c.empty() {
		return c, nil
	}
	var c githubCreds
	if sealed := r.PostFormValue(sealedField); sealed != "" {
		plain, err := h.unseal(s, "github", sealed)
		if err == nil {
			err = json.Unmarshal([]byte(plain), &c)
		}
		if err != nil {
			return githubCreds{}, ferry.Errorf(ferry.EINVALID, "The list of repositories has expired: enter the GitHub token or App again.")
		}
	}
	return c, nil
}

// sealCreds seals c for the listing's forms.
func (h *Handler) sealCreds(s *session, c githubCreds) string {
	b, _ := json.Marshal(c) // strings cannot fail
	return h.seal(s, "github", string(b))
}

// listGitHub is the listing step: the repositories the token reads, to
// pick one, with the import's other fields. The token goes on sealed.
func (h *Handler) listGitHub(w http.ResponseWriter, r *http.Request) {
	s := h.startPage(w, r)
	if s == nil {
		return
	}
	h.githubRepos(w, r, s, 0, "")
}

// githubRepos renders the listing for the POSTed token, hostname and page,
// with startErr (from a refused import, answered with startStatus) above
// it; a failed listing goes back to the token form with the API's message.
func (h *Handler) githubRepos(w http.ResponseWriter, r *http.Request, s *session, startStatus int, startErr string) {
	values := keep(r, "github_hostname", "repo_id", "target_namespace", "new_name", appIDField, installationIDField)
	for _, st := range githubStages {
		values[st.Name] = r.PostFormValue("optional_stages[" + st.Name + "]")
	}
	back := func(status int, msg string) {
		if startErr != "" && startErr != msg {
			msg = startErr + " " + msg
		}
		h.render(w, r, status, "new_github", s, map[string]any{"Title": "Import from GitHub",
			"Form": startForm{Values: values, Error: msg, CanWrite: s.canWrite()}})
	}
	creds, err := h.githubCredsOf(r, s)
	if err != nil {
		back(h.formError(r, err))
		return
	}
	page := 1
	if n, err := strconv.Atoi(r.PostFormValue("page")); err == nil && n > 1 {
		page = n
	}
	form := url.Values{"github_hostname": {values["github_hostname"]}, "page": {strconv.Itoa(page)}}
	creds.set(form, false)
	repos, next, err := h.starter.ListRepos(r.Context(), s.user, "github", form)
	if err != nil {
		back(h.formError(r, err))
		return
	}
	nss, err := h.namespaces(r.Context(), s)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	if values["target_namespace"] == "" && len(nss) > 0 {
		values["target_namespace"] = nss[0]
	}
	status := http.StatusOK
	if startErr != "" {
		status = startStatus
	}
	h.render(w, r, status, "new_github_repos", s, map[string]any{"Title": "Import from GitHub: choose a repository",
		"Form":  startForm{Values: values, Error: startErr, Namespaces: nss, CanWrite: s.canWrite()},
		"Repos": repos, "Page": page, "Prev": page - 1, "Next": next, "Sealed": h.sealCreds(s, creds), "Stages": githubStages,
		"App": creds.app(), "Installation": creds.InstallationID, "Accounts": len(creds.Additional)})
}

// startGitHub starts the import of the chosen repository; a refusal
// shows the listing again with the API's message.
func (h *Handler) startGitHub(w http.ResponseWriter, r *http.Request) {
	s := h.startPage(w, r)
	if s == nil {
		return
	}
	creds, err := h.githubCredsOf(r, s)
	if err == nil && !s.canWrite() {
		err = errReadOnly
	}
	if err != nil {
		status, msg := h.formError(r, err)
		h.githubRepos(w, r, s, status, msg)
		return
	}
	form := url.Values{}
	creds.set(form, true)
	for _, n := range []string{"repo_id", "target_namespace", "new_name", "github_hostname"} {
		if v := r.PostFormValue(n); v != "" || n != "new_name" {
			form.Set(n, v)
		}
	}
	for _, st := range githubStages {
		on := r.PostFormValue("optional_stages["+st.Name+"]") != ""
		form.Set("optional_stages["+st.Name+"]", strconv.FormatBool(on))
	}
	id, err := h.starter.StartImport(r.Context(), s.user, "github", form)
	if err != nil {
		status, msg := h.formError(r, err)
		h.githubRepos(w, r, s, status, msg)
		return
	}
	http.Redirect(w, r, "/-/imports/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// ---- Bitbucket Server ----

var bitbucketFields = []string{"bitbucket_server_url", "bitbucket_server_username", "bitbucket_server_project", "bitbucket_server_repo",
	"new_namespace", "new_name"}

func (h *Handler) newBitbucket(w http.ResponseWriter, r *http.Request) {
	s := h.startPage(w, r)
	if s == nil {
		return
	}
	h.bitbucketForm(w, r, s, http.StatusOK, map[string]string{}, "")
}

func (h *Handler) bitbucketForm(w http.ResponseWriter, r *http.Request, s *session, status int, values map[string]string, msg string) {
	nss, err := h.namespaces(r.Context(), s)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.render(w, r, status, "new_bitbucket_server", s, map[string]any{"Title": "Import from Bitbucket Server",
		"Form": startForm{Values: values, Error: msg, Namespaces: nss, CanWrite: s.canWrite()}})
}

func (h *Handler) startBitbucket(w http.ResponseWriter, r *http.Request) {
	s := h.startPage(w, r)
	if s == nil {
		return
	}
	values := keep(r, bitbucketFields...)
	if !s.canWrite() {
		status, msg := h.formError(r, errReadOnly)
		h.bitbucketForm(w, r, s, status, values, msg)
		return
	}
	form := url.Values{tokenField: {r.PostFormValue(tokenField)}}
	for _, n := range bitbucketFields {
		if v := values[n]; v != "" || !strings.HasPrefix(n, "new_") {
			form.Set(n, v)
		}
	}
	id, err := h.starter.StartImport(r.Context(), s.user, "bitbucket_server", form)
	if err != nil {
		status, msg := h.formError(r, err)
		h.bitbucketForm(w, r, s, status, values, msg)
		return
	}
	http.Redirect(w, r, "/-/imports/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// ---- GitLab migration ----

// entityForm is one entity row of the migration form.
type entityForm struct {
	Index                                                 int
	SourceFullPath, SourceType, DestNamespace, DestSlug   string
	MigrateProjects, MigrateMemberships, Filled, NotFirst bool
}

func (h *Handler) newGitLab(w http.ResponseWriter, r *http.Request) {
	s := h.startPage(w, r)
	if s == nil {
		return
	}
	rows := make([]entityForm, entityRows)
	for i := range rows {
		rows[i] = entityForm{Index: i, SourceType: ferry.GroupEntity, MigrateProjects: true, MigrateMemberships: true, NotFirst: i > 0}
	}
	h.gitlabForm(w, r, s, http.StatusOK, map[string]string{}, rows, "")
}

func (h *Handler) gitlabForm(w http.ResponseWriter, r *http.Request, s *session, status int, values map[string]string, rows []entityForm, msg string) {
	nss, err := h.namespaces(r.Context(), s)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.render(w, r, status, "new_gitlab", s, map[string]any{"Title": "Migrate from GitLab",
		"Form": startForm{Values: values, Error: msg, Namespaces: nss, CanWrite: s.canWrite()}, "Entities": rows,
		"GroupEntity": ferry.GroupEntity, "ProjectEntity": ferry.ProjectEntity})
}

func (h *Handler) startGitLab(w http.ResponseWriter, r *http.Request) {
	s := h.startPage(w, r)
	if s == nil {
		return
	}
	values := map[string]string{"url": r.PostFormValue("configuration[url]")}
	form := url.Values{"configuration[url]": {values["url"]}, "configuration[access_token]": {r.PostFormValue("configuration[access_token]")}}
	rows := make([]entityForm, entityRows)
	n := 0
	for i := range rows {
		f := func(attr string) string { return r.PostFormValue("entities[" + strconv.Itoa(i) + "][" + attr + "]") }
		e := entityForm{Index: i, NotFirst: i > 0, SourceFullPath: strings.TrimSpace(f("source_full_path")), SourceType: f("source_type"),
			DestNamespace: f("destination_namespace"), DestSlug: f("destination_slug"),
			MigrateProjects: f("migrate_projects") != "", MigrateMemberships: f("migrate_memberships") != ""}
		rows[i] = e
		if e.SourceFullPath == "" && e.DestSlug == "" {
			continue // a row left empty is no entity
		}
		rows[i].Filled = true
		p := "entities[" + strconv.Itoa(n) + "]"
		form.Set(p+"[source_full_path]", e.SourceFullPath)
		form.Set(p+"[source_type]", e.SourceType)
		form.Set(p+"[destination_namespace]", e.DestNamespace)
		form.Set(p+"[destination_slug]", e.DestSlug)
		form.Set(p+"[migrate_projects]", strconv.FormatBool(e.MigrateProjects))
		form.Set(p+"[migrate_memberships]", strconv.FormatBool(e.MigrateMemberships))
		n++
	}
	if !s.canWrite() {
		status, msg := h.formError(r, errReadOnly)
		h.gitlabForm(w, r, s, status, values, rows, msg)
		return
	}
	id, err := h.starter.StartMigration(r.Context(), s.user, form)
	if err != nil {
		status, msg := h.formError(r, err)
		h.gitlabForm(w, r, s, status, values, rows, msg)
		return
	}
	http.Redirect(w, r, "/-/migrations/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// ---- sealing ----

// seal encrypts a source token for the next step of a form, so the
// person need not type it again and the page never shows it: AES-GCM
// under a key derived from the session key, bound to this session and
// source, good for sealTTL. Nothing is kept on the server, so any
// instance can open it and nothing needs cleaning up.
func (h *Handler) seal(s *session, source, token string) string {
	aead := h.sealer()
	n := make([]byte, aead.NonceSize())
	if _, err := rand.Read(n); err != nil {
		panic(err)
	}
	exp := strconv.FormatInt(h.store.Now().Add(sealTTL).Unix(), 10)
	out := aead.Seal(n, n, []byte(exp+"\n"+token), []byte(s.payload+"\x00"+source))
	return base64.RawURLEncoding.EncodeToString(out)
}

var errSealed = errors.New("sealed token not valid")

// unseal opens what seal made for the same session and source.
func (h *Handler) unseal(s *session, source, sealed string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	aead := h.sealer()
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errSealed
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(s.payload+"\x00"+source))
	if err != nil {
		return "", errSealed
	}
	exp, token, ok := strings.Cut(string(plain), "\n")
	t, perr := strconv.ParseInt(exp, 10, 64)
	if !ok || perr != nil || !h.store.Now().Before(time.Unix(t, 0)) || token == "" {
		return "", errSealed
	}
	return token, nil
}

func (h *Handler) sealer() cipher.AEAD {
	key, _ := base64.RawURLEncoding.DecodeString(h.mac("source token seal"))
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return aead
}
