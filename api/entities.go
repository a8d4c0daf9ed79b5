package api

import (
	"net/http"

	"github.com/ferry-import/ferry"
)

// The entities mirror GitLab's (lib/api/entities): same names, same nesting,
// nulls where ferry has nothing to say.

type userBasic struct {
	ID          int64   `json:"id"`
	Username    string  `json:"username"`
	Name        string  `json:"name"`
	State       string  `json:"state"`
	Locked      bool    `json:"locked"`
	AvatarURL   *string `json:"avatar_url"`
	WebURL      string  `json:"web_url"`
	Placeholder bool    `json:"placeholder,omitempty"`
}

type userFull struct {
	userBasic
	CreatedAt        Time    `json:"created_at"`
	Bio              string  `json:"bio"`
	Location         string  `json:"location"`
	PublicEmail      *string `json:"public_email"`
	Bot              bool    `json:"bot"`
	Email            string  `json:"email,omitempty"`
	IsAdmin          *bool   `json:"is_admin,omitempty"`
	NamespaceID      int64   `json:"namespace_id,omitempty"`
	CanCreateGroup   *bool   `json:"can_create_group,omitempty"`
	CanCreateProject *bool   `json:"can_create_project,omitempty"`
	External         bool    `json:"external"`
}

func (s *Server) renderUserBasic(r *http.Request, u *ferry.User) userBasic {
	return userBasic{ID: u.ID, Username: u.Username, Name: u.Name, State: u.State, WebURL: s.baseURL(r) + "/" + u.Username, Placeholder: u.Placeholder}
}

// renderUser shows e-mail and admin fields only to the user and to admins.
func (s *Server) renderUser(r *http.Request, u *ferry.User) userFull {
	out := userFull{userBasic: s.renderUserBasic(r, u), CreatedAt: Time(u.CreatedAt), Bot: u.Bot}
	if me := currentUser(r); me != nil && (me.IsAdmin || me.ID == u.ID) {
		yes, admin := true, u.IsAdmin
		out.Email, out.IsAdmin, out.NamespaceID = u.Email, &admin, u.NamespaceID
		out.CanCreateGroup, out.CanCreateProject = &yes, &yes
	}
	return out
}

type tokenEntity struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Revoked     bool     `json:"revoked"`
	CreatedAt   Time     `json:"created_at"`
	Description *string  `json:"description"`
	Scopes      []string `json:"scopes"`
	UserID      int64    `json:"user_id"`
	LastUsedAt  *Time    `json:"last_used_at"`
	Active      bool     `json:"active"`
	ExpiresAt   *string  `json:"expires_at"`
	Token       string   `json:"token,omitempty"`
}

func renderToken(t *ferry.PersonalAccessToken, active bool) tokenEntity {
	return tokenEntity{ID: t.ID, Name: t.Name, Revoked: t.Revoked, CreatedAt: Time(t.CreatedAt), Scopes: t.Scopes, UserID: t.UserID,
		LastUsedAt: timeOrNil(t.LastUsedAt), Active: active, ExpiresAt: dateOrNil(t.ExpiresAt), Token: t.Token}
}

type namespaceEntity struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Path      string  `json:"path"`
	Kind      string  `json:"kind"`
	FullPath  string  `json:"full_path"`
	ParentID  *int64  `json:"parent_id"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
}

func (s *Server) renderNamespace(r *http.Request, n *ferry.Namespace) namespaceEntity {
	web := s.baseURL(r) + "/" + n.FullPath
	if n.Kind == ferry.KindGroup {
		web = s.baseURL(r) + "/groups/" + n.FullPath
	}
	return namespaceEntity{ID: n.ID, Name: n.Name, Path: n.Path, Kind: n.Kind, FullPath: n.FullPath, ParentID: n.ParentID, WebURL: web}
}

type groupEntity struct {
	ID                             int64   `json:"id"`
	WebURL                         string  `json:"web_url"`
	Name                           string  `json:"name"`
	Path                           string  `json:"path"`
	Description                    string  `json:"description"`
	Visibility                     string  `json:"visibility"`
	ShareWithGroupLock             bool    `json:"share_with_group_lock"`
	RequireTwoFactorAuthentication bool    `json:"require_two_factor_authentication"`
	TwoFactorGracePeriod           int     `json:"two_factor_grace_period"`
	ProjectCreationLevel           string  `json:"project_creation_level"`
	AutoDevopsEnabled              *bool   `json:"auto_devops_enabled"`
	SubgroupCreationLevel          string  `json:"subgroup_creation_level"`
	EmailsDisabled                 bool    `json:"emails_disabled"`
	EmailsEnabled                  bool    `json:"emails_enabled"`
	MentionsDisabled               *bool   `json:"mentions_disabled"`
	LFSEnabled                     bool    `json:"lfs_enabled"`
	DefaultBranchProtection        int     `json:"default_branch_protection"`
	AvatarURL                      *string `json:"avatar_url"`
	RequestAccessEnabled           bool    `json:"request_access_enabled"`
	FullName                       string  `json:"full_name"`
	FullPath                       string  `json:"full_path"`
	CreatedAt                      Time    `json:"created_at"`
	ParentID                       *int64  `json:"parent_id"`
	OrganizationID                 int64   `json:"organization_id"`
}

func (s *Server) renderGroup(r *http.Request, n *ferry.Namespace) groupEntity {
	return groupEntity{ID: n.ID, WebURL: s.baseURL(r) + "/groups/" + n.FullPath, Name: n.Name, Path: n.Path, Description: n.Description,
		Visibility: string(n.Visibility), TwoFactorGracePeriod: 48, ProjectCreationLevel: "developer", SubgroupCreationLevel: "maintainer",
		EmailsEnabled: true, LFSEnabled: true, DefaultBranchProtection: 2, RequestAccessEnabled: true,
		FullName: n.FullName, FullPath: n.FullPath, CreatedAt: Time(n.CreatedAt), ParentID: n.ParentID, OrganizationID: 1}
}

type projectEntity struct {
	ID                int64           `json:"id"`
	Description       string          `json:"description"`
	Name              string          `json:"name"`
	NameWithNamespace string          `json:"name_with_namespace"`
	Path              string          `json:"path"`
	PathWithNamespace string          `json:"path_with_namespace"`
	CreatedAt         Time            `json:"created_at"`
	UpdatedAt         Time            `json:"updated_at"`
	DefaultBranch     *string         `json:"default_branch"`
	TagList           []string        `json:"tag_list"`
	Topics            []string        `json:"topics"`
	SSHURLToRepo      string          `json:"ssh_url_to_repo"`
	HTTPURLToRepo     string          `json:"http_url_to_repo"`
	WebURL            string          `json:"web_url"`
	ReadmeURL         *string         `json:"readme_url"`
	AvatarURL         *string         `json:"avatar_url"`
	ForksCount        int             `json:"forks_count"`
	StarCount         int             `json:"star_count"`
	LastActivityAt    Time            `json:"last_activity_at"`
	Namespace         namespaceEntity `json:"namespace"`
	Visibility        string          `json:"visibility"`
	CreatorID         int64           `json:"creator_id"`
	ImportStatus      string          `json:"import_status"`
	ImportType        *string         `json:"import_type"`
	ImportURL         *string         `json:"import_url"`
	Archived          bool            `json:"archived"`
	EmptyRepo         bool            `json:"empty_repo"`
	Permissions       *permissions    `json:"permissions,omitempty"`
}

type accessEntity struct {
	AccessLevel       int `json:"access_level"`
	NotificationLevel int `json:"notification_level"`
}

type permissions struct {
	ProjectAccess *accessEntity `json:"project_access"`
	GroupAccess   *accessEntity `json:"group_access"`
}

func (s *Server) renderProject(r *http.Request, p *ferry.Project) projectEntity {
	base := s.baseURL(r)
	var branch, itype *string
	if p.DefaultBranch != "" {
		branch = &p.DefaultBranch
	}
	if p.ImportType != "" {
		itype = &p.ImportType
	}
	host := hostOf(r.Host)
	if s.cfg.ExternalURL != "" {
		host = hostOf(s.cfg.ExternalURL)
	}
	ns := p.Namespace
	out := projectEntity{ID: p.ID, Description: p.Description, Name: p.Name, NameWithNamespace: p.FullName, Path: p.Path,
		PathWithNamespace: p.FullPath, CreatedAt: Time(p.CreatedAt), UpdatedAt: Time(p.UpdatedAt), DefaultBranch: branch,
		TagList: append([]string{}, p.Topics...), Topics: append([]string{}, p.Topics...), SSHURLToRepo: "git@" + host + ":" + p.FullPath + ".git",
		HTTPURLToRepo: base + "/" + p.FullPath + ".git", WebURL: base + "/" + p.FullPath, LastActivityAt: Time(p.LastActivityAt),
		Visibility: string(p.Visibility), CreatorID: p.CreatorID, ImportStatus: p.ImportStatus, ImportType: itype, EmptyRepo: p.DefaultBranch == ""}
	if ns != nil {
		out.Namespace = s.renderNamespace(r, ns)
	}
	return out
}

type memberEntity struct {
	userBasic
	AccessLevel     int        `json:"access_level"`
	CreatedAt       Time       `json:"created_at"`
	ExpiresAt       *string    `json:"expires_at"`
	CreatedBy       *userBasic `json:"created_by,omitempty"`
	MembershipState string     `json:"membership_state"`
}

func (s *Server) renderMember(r *http.Request, m *ferry.Member) memberEntity {
	return memberEntity{userBasic: s.renderUserBasic(r, m.User), AccessLevel: int(m.AccessLevel), CreatedAt: Time(m.CreatedAt),
		ExpiresAt: dateOrNil(m.ExpiresAt), MembershipState: "active"}
}

func hostOf(u string) string {
	for _, p := range []string{"https://", "http://"} {
		if len(u) > len(p) && u[:len(p)] == p {
			u = u[len(p):]
		}
	}
	for i := 0; i < len(u); i++ {
		if u[i] == '/' || u[i] == ':' {
			return u[:i]
		}
	}
	return u
}
