package ferry

import (
	"regexp"
	"strings"
	"time"
)

// AccessLevel is GitLab's numeric role (Gitlab::Access). These constants
// are ferry's one definition of the numbers: members, protected branches,
// the store's queries and every source adapter use them.
type AccessLevel int

const (
	NoAccess         AccessLevel = 0
	MinimalAccess    AccessLevel = 5
	GuestAccess      AccessLevel = 10
	ReporterAccess   AccessLevel = 20
	DeveloperAccess  AccessLevel = 30
	MaintainerAccess AccessLevel = 40
	OwnerAccess      AccessLevel = 50
	// AdminAccess is for protected branches only (GitLab's
	// Gitlab::Access::ADMIN, "Admins"), never a member's role.
	AdminAccess AccessLevel = 60
)

// ValidMemberAccess reports whether l may be given to a member.
func ValidMemberAccess(l AccessLevel) bool {
	switch l {
	case MinimalAccess, GuestAccess, ReporterAccess, DeveloperAccess, MaintainerAccess, OwnerAccess:
		return true
	}
	return false
}

// Visibility of a group or project.
type Visibility string

const (
	Private  Visibility = "private"
	Internal Visibility = "internal"
	Public   Visibility = "public"
)

// Rank orders visibilities so a project can be checked against its group.
func (v Visibility) Rank() int {
	switch v {
	case Public:
		return 20
	case Internal:
		return 10
	}
	return 0
}

// ParseVisibility accepts GitLab's names and the numeric levels 0/10/20.
func ParseVisibility(s string) (Visibility, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "private", "0":
		return Private, true
	case "internal", "10":
		return Internal, true
	case "public", "20":
		return Public, true
	}
	return "", false
}

// User is an account. Placeholder users stand for source authors of an
// import: visible as authors, never able to sign in.
type User struct {
	ID          int64
	Username    string
	Name        string
	Email       string
	State       string // active, blocked
	IsAdmin     bool
	Bot         bool
	Placeholder bool
	NamespaceID int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CanSignIn reports whether the user may authenticate.
func (u *User) CanSignIn() bool { return u.State == "active" && !u.Placeholder }

// Token scopes.
const (
	ScopeAPI      = "api"
	ScopeReadAPI  = "read_api"
	ScopeReadUser = "read_user"
	// ScopeSudo lets an administrator's token act as another user (the
	// Sudo header or sudo parameter). Only administrators' tokens carry it.
	ScopeSudo = "sudo"
)

// ValidScope reports whether s is a scope ferry understands.
func ValidScope(s string) bool {
	return s == ScopeAPI || s == ScopeReadAPI || s == ScopeReadUser || s == ScopeSudo
}

// PersonalAccessToken is a stored token. The secret itself exists only at
// creation (Token); the database holds its digest.
type PersonalAccessToken struct {
	ID         int64
	UserID     int64
	Name       string
	Scopes     []string
	ExpiresAt  *time.Time // a date, UTC midnight
	Revoked    bool
	CreatedAt  time.Time
	LastUsedAt *time.Time
	Token      string // only set when just created
}

// Active reports whether the token may be used at now.
func (t *PersonalAccessToken) Active(now time.Time) bool {
	if t.Revoked {
		return false
	}
	// GitLab tokens expire at the start of their expiry date.
	return t.ExpiresAt == nil || now.Before(*t.ExpiresAt)
}

// HasScope reports whether the token carries scope s.
func (t *PersonalAccessToken) HasScope(s string) bool {
	for _, x := range t.Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// Namespace kinds.
const (
	KindGroup = "group"
	KindUser  = "user"
)

// Namespace is a group or a user's personal namespace.
type Namespace struct {
	ID          int64
	Kind        string
	Name        string
	Path        string
	FullPath    string
	FullName    string
	Description string
	Visibility  Visibility
	ParentID    *int64
	OwnerID     *int64 // user namespaces
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Project is a repository with its imported content.
type Project struct {
	ID             int64
	Name           string
	Path           string
	FullPath       string
	FullName       string // "Group / Sub / Name"
	Description    string
	Visibility     Visibility
	DefaultBranch  string
	NamespaceID    int64
	CreatorID      int64
	ImportType     string
	ImportSource   string
	ImportStatus   string // none, scheduled, started, finished, failed, canceled
	ImportURL      string
	Topics         []string // imported with the repository
	CreatedAt      time.Time
	UpdatedAt      time.Time
	LastActivityAt time.Time
	Namespace      *Namespace // filled by the store on reads
}

// Member is a user's direct role on a group or project.
type Member struct {
	SourceKind  string // "namespace" or "project"
	SourceID    int64
	UserID      int64
	AccessLevel AccessLevel
	ExpiresAt   *time.Time
	CreatedAt   time.Time
	CreatedByID *int64
	User        *User
	Inherited   bool // for …/members/all: comes from an ancestor
}

// Usernames follow GitLab's namespace rule: letters, digits, '_', '-', '.';
// starting with a letter, digit or '_'; not ending in '.git', '.atom' or '.'.
var usernameRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.\-]*$`)

// reservedPaths are top-level routes a namespace may not take because the
// HTTP surface uses them.
var reservedPaths = map[string]bool{"api": true, "-": true, "metrics": true, "assets": true, "users": true, "groups": true, "projects": true, "admin": true, "import": true, "help": true, "explore": true, "dashboard": true, "uploads": true}

// ValidUsername reports whether u is a valid username.
func ValidUsername(u string) bool {
	if len(u) == 0 || len(u) > MaxPathLength || !usernameRE.MatchString(u) {
		return false
	}
	l := strings.ToLower(u)
	if strings.HasSuffix(l, ".git") || strings.HasSuffix(l, ".atom") || strings.HasSuffix(l, ".") || strings.Contains(u, "..") {
		return false
	}
	return !reservedPaths[l]
}

// PathFromName derives a path from a name the way GitLab does for projects
// created with a name only.
func PathFromName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	// GitLab's paths allow no run of special characters: collapse them.
	out := regexp.MustCompile(`[-_.]{2,}`).ReplaceAllString(b.String(), "-")
	return strings.Trim(out, "-._")
}
