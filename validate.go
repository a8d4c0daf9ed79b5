package ferry

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// The rules below are GitLab's model validations (app/models/project.rb,
// namespace.rb, member.rb, personal_access_token.rb, lib/gitlab/regex.rb,
// lib/gitlab/path_regex.rb), with GitLab's messages, in one place so that
// the API, the CLI and anything else that creates records cannot diverge.
// A failure is an *Error with per-attribute messages, which the API renders
// as GitLab's render_validation_error! does: 400 {"message":{"path":[…]}}.

// Length limits GitLab enforces.
const (
	MaxNameLength               = 255  // project, group, user and token names
	MaxPathLength               = 255  // group and project paths, usernames
	MaxEmailLength              = 255  // users.email
	MaxProjectDescriptionLength = 2000 // Project: validates :description, length: { maximum: 2000 }
	MaxGroupDescriptionLength   = 500  // Namespace: validates :description, length: { maximum: 500 }
)

// Messages GitLab uses.
const (
	projectNameMessage = "can contain only letters, digits, emoji, '_', '.', '+', dashes, or spaces. It must start with a letter, digit, emoji, or '_'."
	groupNameMessage   = "can contain only letters, digits, emoji, '_', '.', dash, space, parenthesis. It must start with letter, digit, emoji or '_'."
	// Gitlab::Regex.oci_repository_path_regex_message, checked on every
	// group and project path since 16.x.
	ociPathMessage = "can only include non-accented letters, digits, '_', '-' and '.'. It must not start with '-', '_', or '.', nor end with '-', '_', '.', '.git', or '.atom'."
	// Gitlab::PathRegex.namespace_format_message / project_path_format_message.
	namespaceFormatMessage   = "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or end in '.', '.git' or '.atom'."
	projectPathFormatMessage = "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'"
	// MemberPlaceholderMessage is Member#user_is_not_placeholder.
	MemberPlaceholderMessage = "must not be a placeholder user"
)

// TooLong is Rails' length message.
func TooLong(max int) string { return fmt.Sprintf("is too long (maximum is %d characters)", max) }

var (
	// Gitlab::Regex.project_name_regex and group_name_regex. Ruby's
	// \p{Alnum} is letters (with their combining marks) and digits.
	projectNameRE = regexp.MustCompile(`^[\p{L}\p{M}\p{Nd}\p{Nl}\x{00A9}-\x{1F9FF}_][\p{L}\p{M}\p{Nd}\p{Nl}\p{Pd}+\x{00A9}-\x{1F9FF}_. ]*$`)
	groupNameRE   = regexp.MustCompile(`^[\p{L}\p{M}\p{Nd}\p{Nl}\x{00A9}-\x{1F9FF}_][\p{L}\p{M}\p{Nd}\p{Nl}\p{Pd}\x{00A9}-\x{1F9FF}_(). ]*$`)
	// Gitlab::Regex.oci_repository_path_regex: no leading, trailing or
	// consecutive special characters.
	ociPathRE = regexp.MustCompile(`^[a-zA-Z0-9]+([._-][a-zA-Z0-9]+)*$`)
	// Gitlab::PathRegex PROJECT_PATH_FORMAT_REGEX and NAMESPACE_FORMAT_REGEX
	// (their "not .git/.atom" lookbehind is checked separately).
	projectPathRE   = regexp.MustCompile(`^[a-zA-Z0-9_.][a-zA-Z0-9_.\-]*$`)
	namespacePathRE = regexp.MustCompile(`^([a-zA-Z0-9_.][a-zA-Z0-9_.\-]*[a-zA-Z0-9_\-]|[a-zA-Z0-9_])$`)
)

// fieldErrors collects per-attribute messages in the order GitLab's
// validations run.
type fieldErrors map[string][]string

func (f fieldErrors) add(field, msg string) { f[field] = append(f[field], msg) }

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	var parts []string
	for k, v := range f {
		parts = append(parts, k+" "+strings.Join(v, ", "))
	}
	return &Error{Code: EBADREQUEST, Message: strings.Join(parts, "; "), Fields: f}
}

func length(s string) int { return utf8.RuneCountInString(s) }

func endsGitOrAtom(p string) bool {
	l := strings.ToLower(p)
	return strings.HasSuffix(l, ".git") || strings.HasSuffix(l, ".atom")
}

// projectNameErrors and the functions below return GitLab's messages for
// one attribute, none when it is valid. Blank values are the callers'
// ("is empty"/"is missing" come from the request layer).
func projectNameErrors(name string) []string {
	var out []string
	if length(name) > MaxNameLength {
		out = append(out, TooLong(MaxNameLength))
	}
	if !projectNameRE.MatchString(name) {
		out = append(out, projectNameMessage)
	}
	return out
}

func groupNameErrors(name string) []string {
	var out []string
	if length(name) > MaxNameLength {
		out = append(out, TooLong(MaxNameLength))
	}
	if !groupNameRE.MatchString(name) {
		out = append(out, groupNameMessage)
	}
	return out
}

// projectPathErrors follows Project's validations: project_path (format,
// then reserved words), length, then the OCI format.
func projectPathErrors(p string) []string {
	var out []string
	switch {
	case !projectPathRE.MatchString(p) || endsGitOrAtom(p):
		out = append(out, projectPathFormatMessage)
	case reservedPaths[strings.ToLower(p)]:
		out = append(out, p+" is a reserved name")
	}
	if len(p) > MaxPathLength {
		out = append(out, TooLong(MaxPathLength))
	}
	if !ociPathRE.MatchString(p) {
		out = append(out, ociPathMessage)
	}
	return out
}

// groupPathErrors follows Namespace's validations: length, the OCI format,
// then namespace_path (format, then reserved words).
func groupPathErrors(p string) []string {
	var out []string
	if len(p) > MaxPathLength {
		out = append(out, TooLong(MaxPathLength))
	}
	if !ociPathRE.MatchString(p) {
		out = append(out, ociPathMessage)
	}
	switch {
	case !namespacePathRE.MatchString(p) || endsGitOrAtom(p):
		out = append(out, namespaceFormatMessage)
	case reservedPaths[strings.ToLower(p)]:
		out = append(out, p+" is a reserved name")
	}
	return out
}

// ValidateProject checks a project's name, path and description as GitLab's
// Project model does. On an update, old is the stored project: as in
// GitLab, a name or path is checked only when it changes, so records made
// under older rules stay editable. The default branch is the caller's to
// check against the repository (ValidRefName covers its syntax).
func ValidateProject(p, old *Project) error {
	f := fieldErrors{}
	if old == nil || p.Name != old.Name {
		for _, m := range projectNameErrors(p.Name) {
			f.add("name", m)
		}
	}
	if old == nil || p.Path != old.Path {
		for _, m := range projectPathErrors(p.Path) {
			f.add("path", m)
		}
	}
	if length(p.Description) > MaxProjectDescriptionLength {
		f.add("description", TooLong(MaxProjectDescriptionLength))
	}
	return f.err()
}

// ValidateGroup checks a group's name, path and description as GitLab's
// Group/Namespace models do; old is as for ValidateProject.
func ValidateGroup(n, old *Namespace) error {
	f := fieldErrors{}
	if old == nil || n.Name != old.Name {
		for _, m := range groupNameErrors(n.Name) {
			f.add("name", m)
		}
	}
	if old == nil || n.Path != old.Path {
		for _, m := range groupPathErrors(n.Path) {
			f.add("path", m)
		}
	}
	if length(n.Description) > MaxGroupDescriptionLength {
		f.add("description", TooLong(MaxGroupDescriptionLength))
	}
	return f.err()
}

// ValidateUserLengths checks the free-text attributes of a user against
// GitLab's column limits (name, username, email: 255).
func ValidateUserLengths(u *User) error {
	f := fieldErrors{}
	if length(u.Name) > MaxNameLength {
		f.add("name", TooLong(MaxNameLength))
	}
	if length(u.Username) > MaxPathLength {
		f.add("username", TooLong(MaxPathLength))
	}
	if length(u.Email) > MaxEmailLength {
		f.add("email", TooLong(MaxEmailLength))
	}
	return f.err()
}

// ValidName reports whether n is a valid project name.
func ValidName(n string) bool { return strings.TrimSpace(n) != "" && len(projectNameErrors(n)) == 0 }

// ValidPath reports whether p is a valid project path.
func ValidPath(p string) bool { return p != "" && len(projectPathErrors(p)) == 0 }

// ValidRefName reports whether name is a valid branch name: what
// `git check-ref-format --branch` accepts, checked in process. No
// component may start with '.' or end with '.lock'; no "..", "@{", "//",
// control characters, space, '~', '^', ':', '?', '*', '[' or '\'; not "@",
// not starting with '-' or '/', not ending with '/' or '.'.
func ValidRefName(name string) bool {
	if name == "" || name == "@" || len(name) > 1024 || strings.HasPrefix(name, "-") ||
		strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") ||
		strings.Contains(name, "..") || strings.Contains(name, "@{") || strings.Contains(name, "//") || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return false
		}
	}
	for _, c := range strings.Split(name, "/") {
		if strings.HasPrefix(c, ".") || strings.HasSuffix(c, ".lock") {
			return false
		}
	}
	return true
}

// CanBeMember refuses users that GitLab's Member model refuses: placeholder
// users stand for people of an imported source and cannot sign in.
func CanBeMember(u *User) error {
	if u != nil && u.Placeholder {
		return FieldError(EBADREQUEST, "user_id", MemberPlaceholderMessage)
	}
	return nil
}

// Token creation failures, as GitLab's PersonalAccessTokens::CreateService
// reports them (render_api_error!(message, 422) for model validations).
var (
	ErrTokenForPlaceholder = Errorf(EBADREQUEST, "400 Bad request - placeholder users cannot have tokens")
	ErrTokenExpiryPast     = Errorf(EBADREQUEST, "400 Bad request - Expiration date must be in the future")
)

// ValidateNewToken is the one rule for creating a personal access token,
// shared by the API and `ferry admin token create`: a name of at most 255
// characters, known scopes (sudo only for an administrator), an owner who
// can sign in (no placeholder), and an expiry, if any, after today (now).
func ValidateNewToken(t *PersonalAccessToken, owner *User, now time.Time) error {
	if length(t.Name) > MaxNameLength {
		return Errorf(EUNPROCESSABLE, "Name %s", TooLong(MaxNameLength))
	}
	for _, s := range t.Scopes {
		if !ValidScope(s) {
			return Errorf(EINVALID, "scopes does not have a valid value")
		}
	}
	if t.HasScope(ScopeSudo) && !owner.IsAdmin {
		// GitLab offers sudo to administrators only; it acts for nobody else.
		return Errorf(EINVALID, "scopes does not have a valid value")
	}
	if owner.Placeholder {
		return ErrTokenForPlaceholder
	}
	if t.ExpiresAt != nil && !t.ExpiresAt.After(now) {
		return ErrTokenExpiryPast
	}
	return nil
}
