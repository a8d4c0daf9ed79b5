package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
)

// repository reads the project and mirrors its git data (and its wiki);
// the import makes no sense without it (paging.Critical).
func (r *run) repository(ctx context.Context) (importer.Page, error) {
	var p gl.Project
	if err := r.get(ctx, r.projectPath(), &p); err != nil {
		return importer.Page{}, fmt.Errorf("get project %s: %w", r.env.SourceRef, err)
	}
	clone, err := r.cloneURL(p.HTTPURLToRepo)
	if err != nil {
		return importer.Page{}, err
	}
	if err := r.env.Git.Mirror(ctx, r.env.ProjectID, clone, r.credential(), gitstore.GitLabRefspecs()...); err != nil {
		return importer.Page{}, fmt.Errorf("mirror repository: %w", err)
	}
	// wiki_enabled is a setting; the wiki repository exists only once a
	// page was written.
	wiki := strings.TrimSuffix(clone, ".git") + ".wiki.git"
	if err := r.env.Git.MirrorWiki(ctx, r.env.ProjectID, wiki, r.credential()); err != nil && !errors.Is(err, gitstore.ErrNotFound) {
		return importer.Page{}, fmt.Errorf("mirror wiki: %w", err)
	}
	topics := p.Topics
	if len(topics) == 0 {
		topics = p.TagList //nolint:staticcheck // GitLab < 14.0 sends tag_list only
	}
	return importer.Page{Objects: []forge.Object{
		forge.Repository{SourceID: r.sid("project/" + id(p.ID)), Description: p.Description, DefaultBranch: p.DefaultBranch,
			Visibility: string(p.Visibility), Topics: topics},
		importer.Followup{Relation: relLFSObjects, Key: clone},
	}}, nil
}

// cloneURL checks that the project's http_url_to_repo lives on the
// instance the import was started with: the token goes with every git
// request, and a source must not be able to send it elsewhere.
func (r *run) cloneURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return "", &importer.Permanent{Err: errors.New("project has no usable http_url_to_repo")}
	}
	if u.Scheme != r.base.Scheme || !strings.EqualFold(u.Host, r.base.Host) || u.User != nil {
		return "", &importer.Permanent{Err: fmt.Errorf("clone URL host %q is not the source's (%q); refusing to send the token there", u.Host, r.base.Host)}
	}
	return u.String(), nil
}

func (r *run) labels() importer.Relation {
	// include_ancestor_groups=false: group labels belong to the group's
	// own import.
	return list(r, relLabels, r.projectPath()+"/labels", url.Values{"include_ancestor_groups": {"false"}},
		func(_ context.Context, b *builder, ls []*gl.Label) error {
			for _, l := range ls {
				b.Add(b.label(l))
			}
			return nil
		})
}

func (r *run) milestones() importer.Relation {
	return list(r, relMilestones, r.projectPath()+"/milestones", nil,
		func(_ context.Context, b *builder, ms []*gl.Milestone) error {
			for _, m := range ms {
				b.Add(b.milestone(m))
			}
			return nil
		})
}

func (r *run) members() importer.Relation {
	// members/all: direct and inherited, as direct transfer migrates them.
	return list(r, relMembers, r.projectPath()+"/members/all", nil,
		func(_ context.Context, b *builder, ms []*gl.ProjectMember) error {
			for _, m := range ms {
				b.Add(b.member(m))
			}
			return nil
		})
}

// issues lists every issue, oldest first; each queues its notes.
func (r *run) issues() importer.Relation {
	return listHolding(r, relIssues, r.projectPath()+"/issues",
		url.Values{"scope": {"all"}, "state": {"all"}, "order_by": {"created_at"}, "sort": {"asc"}}, forge.KindIssue,
		func(_ context.Context, b *builder, is []*gl.Issue) error {
			for _, is := range is {
				if is.IID <= 0 {
					return &importer.Permanent{Err: fmt.Errorf("issue %d without an iid", is.ID)}
				}
				b.Add(b.issue(is))
				b.expectCounts(forge.OnIssue, is.IID, is.UserNotesCount, is.Upvotes, is.Downvotes, is.WebURL, is.Title)
				b.Follow(relIssueNotes, id(is.IID))
			}
			return nil
		})
}

// mergeRequests lists every merge request, oldest first, only to queue
// each one's details and notes: the list entity lacks diff_refs, so the
// merge request is written once, from GET …/merge_requests/:iid.
func (r *run) mergeRequests() importer.Relation {
	return listHolding(r, relMRs, r.projectPath()+"/merge_requests",
		url.Values{"scope": {"all"}, "state": {"all"}, "order_by": {"created_at"}, "sort": {"asc"}, "view": {"simple"}}, forge.KindMergeRequest,
		func(_ context.Context, b *builder, mrs []*gl.BasicMergeRequest) error {
			for _, mr := range mrs {
				if mr.IID <= 0 {
					return &importer.Permanent{Err: fmt.Errorf("merge request %d without an iid", mr.ID)}
				}
				b.Follow(relMRDetails, id(mr.IID))
				b.Follow(relMRNotes, id(mr.IID))
			}
			b.CountItems(len(mrs))
			return nil
		})
}

func (r *run) releases() importer.Relation {
	return list(r, relReleases, r.projectPath()+"/releases", url.Values{"order_by": {"created_at"}, "sort": {"asc"}},
		func(_ context.Context, b *builder, rs []*gl.Release) error {
			for _, rel := range rs {
				b.Add(b.release(rel))
			}
			return nil
		})
}

func (r *run) protectedBranches() importer.Relation {
	return list(r, relProtected, r.projectPath()+"/protected_branches", nil,
		func(_ context.Context, b *builder, ps []*gl.ProtectedBranch) error {
			for _, p := range ps {
				b.Add(b.protectedBranch(p))
			}
			return nil
		})
}

// iidKey reads a queued issue or merge request iid.
func iidKey(key string) (int64, error) {
	n, err := strconv.ParseInt(key, 10, 64)
	if err != nil || n <= 0 {
		return 0, &importer.Permanent{Err: fmt.Errorf("bad iid key %q", key)}
	}
	return n, nil
}

// items is a per-item relation over queued iids of one kind (issues or
// merge_requests), each done by each into its own page.
func (r *run) items(name, kind string, each func(ctx context.Context, b *builder, iid int64, path string) error) importer.Relation {
	return paging.NewItems(name, paging.ItemsConfig{
		Followups: r.env.Followups,
		Each: func(ctx context.Context, pb *paging.Builder, key string) error {
			iid, err := iidKey(key)
			if err != nil {
				return err
			}
			return each(ctx, &builder{Builder: pb, r: r}, iid, r.projectPath()+"/"+kind+"/"+key)
		},
		ItemURL: func(key string) string { return r.base.String() + "api/v4/" + r.projectPath() + "/" + kind + "/" + key },
		Log:     r.env.Log,
	})
}

// issueNotes reads one issue's discussions and award emoji, each user
// note's award emoji, and its resource events.
func (r *run) issueNotes() importer.Relation {
	return r.items(relIssueNotes, "issues", func(ctx context.Context, b *builder, iid int64, path string) error {
		on := forge.Noteable{Type: forge.OnIssue, IID: iid}
		if err := r.discussions(ctx, b, on, path); err != nil {
			return err
		}
		return r.resourceEvents(ctx, b, on, path)
	})
}

// mergeRequestNotes reads one merge request's discussions (DiffNotes with
// their positions) and award emoji, each user note's award emoji, and its
// resource events.
func (r *run) mergeRequestNotes() importer.Relation {
	return r.items(relMRNotes, "merge_requests", func(ctx context.Context, b *builder, iid int64, path string) error {
		on := forge.Noteable{Type: forge.OnMergeRequest, IID: iid}
		if err := r.discussions(ctx, b, on, path); err != nil {
			return err
		}
		return r.resourceEvents(ctx, b, on, path)
	})
}

// milestoneEvent is GitLab's ResourceMilestoneEvent: client-go's struct
// lacks the item's state at the time.
type milestoneEvent struct {
	gl.MilestoneEvent
	State string `json:"state"`
}

// resourceEvents reads an item's label, milestone and state events: three
// calls per issue and merge request, as GitLab's REST API lists them per
// item only (the export transport gets them with the item instead). A 404
// says the instance predates the list (state events came in GitLab 13.2):
// the item has none to read, and its notes stand.
func (r *run) resourceEvents(ctx context.Context, b *builder, on forge.Noteable, path string) error {
	items := 0
	read := func(what string, each func(raw []byte) (forge.ResourceEvent, bool, error)) error {
		evs, err := all[json.RawMessage](ctx, r, path+"/resource_"+what+"_events", nil)
		if paging.Gone(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s events of %s %d: %w", what, on.Type, on.IID, err)
		}
		for _, raw := range evs {
			ev, ok, err := each(raw)
			if err != nil {
				return &importer.Permanent{Err: fmt.Errorf("%s event of %s %d: %w", what, on.Type, on.IID, err)}
			}
			if ok {
				b.Add(ev)
			}
		}
		items += len(evs)
		return nil
	}
	err := read("label", func(raw []byte) (forge.ResourceEvent, bool, error) {
		var e gl.LabelEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return forge.ResourceEvent{}, false, err
		}
		return forge.ResourceEvent{SourceID: r.sid("resource_label_event/" + id(e.ID)), On: on, Event: forge.EventLabel, Action: e.Action,
			Label: e.Label.Name, LabelColor: e.Label.Color, Author: b.basic(&e.User), CreatedAt: at(e.CreatedAt)}, e.Label.Name != "", nil
	})
	if err == nil {
		err = read("milestone", func(raw []byte) (forge.ResourceEvent, bool, error) {
			var e milestoneEvent
			if err := json.Unmarshal(raw, &e); err != nil || e.Milestone == nil {
				return forge.ResourceEvent{}, false, err
			}
			return forge.ResourceEvent{SourceID: r.sid("resource_milestone_event/" + id(e.ID)), On: on, Event: forge.EventMilestone,
				Action: e.Action, MilestoneIID: e.Milestone.IID, MilestoneTitle: e.Milestone.Title, State: e.State, Author: b.basic(e.User),
				CreatedAt: at(e.CreatedAt)}, true, nil
		})
	}
	if err == nil {
		err = read("state", func(raw []byte) (forge.ResourceEvent, bool, error) {
			var e gl.StateEvent
			if err := json.Unmarshal(raw, &e); err != nil {
				return forge.ResourceEvent{}, false, err
			}
			return forge.ResourceEvent{SourceID: r.sid("resource_state_event/" + id(e.ID)), On: on, Event: forge.EventState,
				State: string(e.State), Author: b.basic(e.User), CreatedAt: at(e.CreatedAt)}, e.State != "", nil
		})
	}
	b.CountItems(items)
	return err
}

func (r *run) discussions(ctx context.Context, b *builder, on forge.Noteable, path string) error {
	ds, err := all[*gl.Discussion](ctx, r, path+"/discussions", nil)
	if err != nil {
		return fmt.Errorf("discussions of %s %d: %w", on.Type, on.IID, err)
	}
	items := 0
	var userNotes []forge.Note
	for _, d := range ds {
		for _, n := range d.Notes {
			if n == nil {
				continue
			}
			note := b.note(on, d, n)
			b.Add(note)
			items++
			if !n.System {
				userNotes = append(userNotes, note)
			}
		}
	}
	emoji, err := all[*gl.AwardEmoji](ctx, r, path+"/award_emoji", nil)
	if err != nil {
		return fmt.Errorf("award emoji of %s %d: %w", on.Type, on.IID, err)
	}
	for _, e := range emoji {
		b.Add(b.awardEmoji(on, "", e))
	}
	items += len(emoji)
	// GitLab's note entity does not say whether a note has award emoji,
	// so each user note is asked (system notes take none).
	for _, n := range userNotes {
		nid := strings.TrimPrefix(n.ID, "note/")
		emoji, err := all[*gl.AwardEmoji](ctx, r, path+"/notes/"+nid+"/award_emoji", nil)
		if err != nil {
			return fmt.Errorf("award emoji of note %s: %w", nid, err)
		}
		for _, e := range emoji {
			b.Add(b.awardEmoji(on, n.ID, e))
		}
		items += len(emoji)
	}
	b.CountItems(items)
	return nil
}

// mergeRequestDetails reads one merge request (with diff_refs) and its
// approvals.
func (r *run) mergeRequestDetails() importer.Relation {
	return r.items(relMRDetails, "merge_requests", func(ctx context.Context, b *builder, iid int64, path string) error {
		var mr gl.MergeRequest
		if err := r.get(ctx, path, &mr); err != nil {
			return fmt.Errorf("merge request %d: %w", iid, err)
		}
		if mr.IID != iid {
			return &importer.Permanent{Err: fmt.Errorf("merge request %d answered as %d", iid, mr.IID)}
		}
		b.Add(b.mergeRequest(&mr))
		b.expectCounts(forge.OnMergeRequest, iid, mr.UserNotesCount, mr.Upvotes, mr.Downvotes, mr.WebURL, mr.Title)
		var ap gl.MergeRequestApprovals
		if err := r.get(ctx, path+"/approvals", &ap); err != nil {
			return fmt.Errorf("approvals of merge request %d: %w", iid, err)
		}
		for _, a := range ap.ApprovedBy {
			if a == nil || a.User == nil {
				continue
			}
			u := b.basic(a.User)
			b.Add(forge.Approval{SourceID: r.sid("approval/" + id(mr.ID) + "/" + u.ID), MergeRequestIID: iid, User: u,
				ApprovedAt: at(a.ApprovedAt)})
		}
		b.CountItems(1 + len(ap.ApprovedBy))
		return nil
	})
}

// lfsObjects fetches the LFS objects the mirrored repository points at.
func (r *run) lfsObjects() importer.Relation {
	return paging.LFSObjects(relLFSObjects, r.env, r.credential())
}
