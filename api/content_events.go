package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// resourceEventsAPI is one of GitLab's three resource event lists: its
// path under an issuable and the events it holds.
type resourceEventsAPI struct {
	path  string // resource_label_events…
	event string // forge.EventLabel…
}

var resourceEventAPIs = []resourceEventsAPI{
	{path: "resource_label_events", event: forge.EventLabel},
	{path: "resource_state_events", event: forge.EventState},
	{path: "resource_milestone_events", event: forge.EventMilestone},
}

// errEventNotFound is GitLab's answer for an event id its issuable lacks
// (an ActiveRecord::RecordNotFound, hence the lower-case "found").
var errEventNotFound = ferry.Errorf(ferry.ENOTFOUND, "404 Not found")

// labelBasicEntity is GitLab's LabelBasic, the label of a label event.
type labelBasicEntity struct {
	ID              int64   `json:"id"`
	Name            string  `json:"name"`
	Color           string  `json:"color"`
	Description     *string `json:"description"`
	DescriptionHTML string  `json:"description_html"`
	TextColor       string  `json:"text_color"`
	RemoveOnClose   bool    `json:"remove_on_close"`
}

// resourceEventEntity holds what the three entities share
// (ResourceLabelEvent, ResourceStateEvent, ResourceMilestoneEvent).
type resourceEventEntity struct {
	ID           int64      `json:"id"`
	User         *userBasic `json:"user"`
	CreatedAt    Time       `json:"created_at"`
	ResourceType string     `json:"resource_type"`
	ResourceID   int64      `json:"resource_id"`
}

type labelEventEntity struct {
	resourceEventEntity
	Label  *labelBasicEntity `json:"label"`
	Action string            `json:"action"`
}

type stateEventEntity struct {
	resourceEventEntity
	SourceCommit         *string `json:"source_commit"`
	SourceMergeRequestID *int64  `json:"source_merge_request_id"`
	State                string  `json:"state"`
}

type milestoneEventEntity struct {
	resourceEventEntity
	Milestone *milestoneEntity `json:"milestone"`
	Action    string           `json:"action"`
	State     string           `json:"state"`
}

// defaultLabelColor is GitLab's colour of a label made without one: a
// label event whose label is gone and whose source named no colour.
const defaultLabelColor = "#6699cc"

// renderResourceEvent renders an event in its type's entity.
func (s *Server) renderResourceEvent(r *http.Request, it issuable, e *store.ResourceEvent) any {
	base := resourceEventEntity{ID: e.ID, User: s.userOrNil(r, e.User), CreatedAt: Time(e.CreatedAt), ResourceType: e.On.Type, ResourceID: e.ResourceID}
	switch e.Event {
	case forge.EventLabel:
		out := labelEventEntity{resourceEventEntity: base, Action: e.Action}
		if l := e.Label; l != nil {
			color := l.Color
			if color == "" {
				color = defaultLabelColor
			}
			out.Label = &labelBasicEntity{ID: l.ID, Name: l.Name, Color: color, Description: strOrNil(l.Description),
				DescriptionHTML: l.Description, TextColor: textColor(color)}
		}
		return out
	case forge.EventMilestone:
		state := e.State
		if state == "" {
			state = forge.StateOpened
		}
		return milestoneEventEntity{resourceEventEntity: base, Action: e.Action, State: state,
			Milestone: s.renderMilestone(r, e.Milestone, s.baseURL(r)+"/"+it.ref.fullPath)}
	default:
		return stateEventEntity{resourceEventEntity: base, State: e.State}
	}
}

// listResourceEvents serves GET …/:iid/resource_{label,state,milestone}_events,
// under the issuable's lookup, visibility and 404s like its notes.
func (s *Server) listResourceEvents(k *issuableAPI, ev resourceEventsAPI) handler {
	return s.onIssuable(k, func(r *http.Request, tx *store.Tx, p *params, it issuable, _ ferry.AccessLevel, pg store.Page) (func(http.ResponseWriter), error) {
		if err := p.err(); err != nil {
			return nil, err
		}
		f := store.EventFilter{ProjectID: it.base.ProjectID, On: forge.Noteable{Type: k.typ, IID: it.base.IID}, Event: ev.event}
		es, total, err := tx.ListResourceEvents(r.Context(), f, pg)
		return func(w http.ResponseWriter) {
			writePage(s, w, r, pg, total, es, func(e *store.ResourceEvent) any { return s.renderResourceEvent(r, it, e) })
		}, err
	})
}

// getResourceEvent serves GET …/:iid/resource_*_events/:event_id.
func (s *Server) getResourceEvent(k *issuableAPI, ev resourceEventsAPI) handler {
	return s.onIssuable(k, func(r *http.Request, tx *store.Tx, _ *params, it issuable, _ ferry.AccessLevel, _ store.Page) (func(http.ResponseWriter), error) {
		f := store.EventFilter{ProjectID: it.base.ProjectID, On: forge.Noteable{Type: k.typ, IID: it.base.IID}, Event: ev.event}
		var err error
		if f.ID, err = parseID(chi.URLParam(r, "event_id")); err != nil {
			return nil, errEventNotFound
		}
		es, _, err := tx.ListResourceEvents(r.Context(), f, store.Page{Page: 1, PerPage: 1})
		if err == nil && len(es) == 0 {
			err = errEventNotFound
		}
		if err != nil {
			return nil, err
		}
		return func(w http.ResponseWriter) { writeJSON(w, http.StatusOK, s.renderResourceEvent(r, it, es[0])) }, nil
	})
}
