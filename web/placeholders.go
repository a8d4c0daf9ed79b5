package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// Placeholder reassignment: "/groups/<top-level group>/-/group_members"
// (GitLab's path; ?tab=placeholders is its tab and the only one here)
// lists the group's source users, each with its source identity, the
// placeholder standing for it, who its contributions show as and its
// status, and a form to reassign it to a user by username (or undo a
// reassignment), posted to /-/placeholders/reassign. Both go through the
// API's own endpoints in process (Placeholders): only the group's owners
// (and admins) see the list or reassign, and a reassignment to someone
// else waits for their consent, with the API's messages.

// Placeholders is the API's placeholder reassignment (the API server,
// wired in app).
type Placeholders interface {
	// GroupPlaceholders is GET /groups/:id/placeholder_reassignments for u.
	GroupPlaceholders(ctx context.Context, u *ferry.User, groupID int64, pg store.Page) ([]*store.SourceUser, int, error)
	// ReassignPlaceholder is POST /groups/:id/placeholder_reassignments
	// for u with source_user_id and reassign_to_username.
	ReassignPlaceholder(ctx context.Context, u *ferry.User, groupID, sourceUserID int64, username string) error
}

const placeholderRows = 50

// placeholderRow is one source user as the page shows it.
type placeholderRow struct {
	ID                                   int64
	SourceName, SourceUsername, SourceID string
	SourceHost, SourceType               string
	Placeholder                          string // the placeholder user's username
	ShowsAs                              string // the user contributions show as, when not the placeholder
	AwaitingUser                         string // the user whose consent a reassignment waits for
	Status                               string
	Typed                                string // the username typed, when the reassignment was refused
	Error                                string
}

// groupOwner reports whether s's user owns g (admins do): whether the
// group's page links the placeholders tab. The tab itself asks the API.
func groupOwner(ctx context.Context, tx *store.Tx, s *session, g *ferry.Namespace) (bool, error) {
	if s == nil {
		return false, nil
	}
	if s.user.IsAdmin {
		return true, nil
	}
	role, err := tx.NamespaceAccess(ctx, s.user.ID, g.ID)
	return role >= ferry.OwnerAccess, err
}

// topLevel is the top-level group of g, where its placeholders live.
func topLevel(ctx context.Context, tx *store.Tx, g *ferry.Namespace) (*ferry.Namespace, error) {
	if g.ParentID == nil {
		return g, nil
	}
	as, err := tx.Ancestors(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		if a.ParentID == nil {
			return a, nil
		}
	}
	return g, nil
}

// placeholdersPage serves the group's placeholders tab.
func (h *Handler) placeholdersPage(w http.ResponseWriter, r *http.Request, s *session, g *ferry.Namespace) error {
	if s == nil {
		http.Redirect(w, r, "/users/sign_in", http.StatusSeeOther)
		return nil
	}
	if h.placeholders == nil {
		return errPageNotFound
	}
	var root *ferry.Namespace
	err := h.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		root, err = topLevel(r.Context(), tx, g)
		return err
	})
	if err != nil {
		return err
	}
	if root.ID != g.ID {
		http.Redirect(w, r, placeholdersURL(root), http.StatusSeeOther)
		return nil
	}
	return h.renderPlaceholders(w, r, s, g, http.StatusOK, pageParam(r), 0, "", "")
}

func placeholdersURL(g *ferry.Namespace) string {
	return groupURL(g) + "/-/group_members?tab=placeholders"
}

// renderPlaceholders shows one page of g's source users; failedID, typed
// and msg put a refused reassignment's message next to its form.
func (h *Handler) renderPlaceholders(w http.ResponseWriter, r *http.Request, s *session, g *ferry.Namespace, status, page int, failedID int64,
	typed, msg string) error {
	var rows []placeholderRow
	shown := false // the refused one is on this page
	list, total, err := h.placeholders.GroupPlaceholders(r.Context(), s.user, g.ID, store.Page{Page: page, PerPage: placeholderRows})
	if err == nil {
		for _, su := range list {
			row := placeholderRow{ID: su.ID, SourceName: su.SourceName, SourceUsername: su.SourceUsername, SourceID: su.SourceUserID,
				SourceHost: su.SourceHost, SourceType: su.SourceType, Status: su.Status}
			if su.Placeholder != nil {
				row.Placeholder = su.Placeholder.Username
			}
			if su.Mapped != nil && (su.Placeholder == nil || su.Mapped.ID != su.Placeholder.ID) {
				row.ShowsAs = su.Mapped.Username
			}
			if su.ReassignTo != nil {
				row.AwaitingUser = su.ReassignTo.Username
			}
			if su.ID == failedID {
				row.Typed, row.Error, shown = typed, msg, true
			}
			rows = append(rows, row)
		}
	}
	if ferry.ErrorCode(err) == ferry.EFORBIDDEN {
		h.render(w, r, http.StatusForbidden, "error", s, map[string]any{"Title": "Forbidden",
			"Message": "Only the group's owners may see and reassign its placeholder users."})
		return nil
	} else if err != nil {
		return err
	}
	// The pager links the tab's own address, also when a refused POST
	// renders it.
	tabReq := &http.Request{URL: &url.URL{Path: groupURL(g) + "/-/group_members", RawQuery: "tab=placeholders"}}
	data := map[string]any{"Rows": rows, "Total": total, "Page": page,
		"Pager": newPager(tabReq, page, placeholderRows, total).labeled("Pages of placeholder users")}
	if !shown && msg != "" {
		data["Error"] = msg
	}
	h.groupRenderStatus(w, r, s, g, status, "placeholders", "placeholders", "Placeholder users · "+g.FullPath, data)
	return nil
}

// reassignPlaceholder is the form's POST: group (full path), source_user_id,
// username, page. Success goes back to the page; a refusal shows it with
// the message next to that placeholder's form.
func (h *Handler) reassignPlaceholder(w http.ResponseWriter, r *http.Request) {
	s := h.formPost(w, r, 64<<10)
	if s == nil {
		return
	}
	if h.placeholders == nil {
		h.notFound(w, r, s)
		return
	}
	ctx := r.Context()
	suID, _ := strconv.ParseInt(r.PostFormValue("source_user_id"), 10, 64)
	username := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("username")), "@"))
	page := 1
	if n, err := strconv.Atoi(r.PostFormValue("page")); err == nil && n > 1 {
		page = n
	}
	var g *ferry.Namespace
	err := h.store.Read(ctx, func(tx *store.Tx) (err error) {
		g, err = h.findGroup(ctx, tx, s, r.PostFormValue("group"))
		return err
	})
	if err != nil {
		h.browseFail(w, r, s, err)
		return
	}
	if !s.canWrite() {
		err = ferry.Errorf(ferry.EFORBIDDEN, "Reassigning needs a session signed in with a token of the api scope; this one may only read.")
	} else if username == "" {
		err = ferry.Errorf(ferry.EINVALID, "Enter the username of the user to reassign to.")
	} else {
		err = h.placeholders.ReassignPlaceholder(ctx, s.user, g.ID, suID, username)
	}
	switch code := ferry.ErrorCode(err); {
	case err == nil:
		http.Redirect(w, r, placeholdersURL(g)+"&page="+strconv.Itoa(page)+"#placeholder-"+strconv.FormatInt(suID, 10), http.StatusSeeOther)
	case code == ferry.EINTERNAL:
		h.browseFail(w, r, s, err)
	case code == ferry.EFORBIDDEN && s.canWrite():
		h.render(w, r, http.StatusForbidden, "error", s, map[string]any{"Title": "Forbidden",
			"Message": "Only the group's owners may see and reassign its placeholder users."})
	case code == ferry.EFORBIDDEN:
		h.render(w, r, http.StatusForbidden, "error", s, map[string]any{"Title": "Forbidden", "Message": ferry.ErrorMessage(err)})
	default:
		if err := h.renderPlaceholders(w, r, s, g, http.StatusUnprocessableEntity, page, suID, username, ferry.ErrorMessage(err)); err != nil {
			h.browseFail(w, r, s, err)
		}
	}
}
