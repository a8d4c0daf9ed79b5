package scenario

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Object kinds salt the hash so that, say, issue 7 and comment 7 draw
// unrelated values.
const (
	kindUser uint64 = iota + 1
	kindLabel
	kindMilestone
	kindItem
	kindComment
	kindReview
	kindReviewComment
	kindEvent
	kindReaction
	kindRelease
	kindAsset
	kindLFS
	kindGroup
	kindBBSComment
	kindBBSActivity
)

// ID bases keep identifiers of different kinds apart and recognisable.
const (
	userIDBase          = 1_000
	labelIDBase         = 2_000_000
	milestoneIDBase     = 3_000_000
	itemIDBase          = 10_000_000
	commentIDBase       = 20_000_000
	reviewIDBase        = 30_000_000
	reviewCommentIDBase = 40_000_000
	eventIDBase         = 50_000_000
	reactionIDBase      = 60_000_000
	releaseIDBase       = 70_000_000
	assetIDBase         = 80_000_000
)

// mix is splitmix64 over (seed, kind, n): a cheap, well-spread pure function.
func mix(seed int64, kind uint64, n int) uint64 {
	z := uint64(seed) ^ kind*0x9E3779B97F4A7C15 ^ uint64(n)*0xBF58476D1CE4E5B9
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (s *Scenario) pick(kind uint64, n, salt, mod int) int {
	if mod <= 0 {
		return 0
	}
	return int(mix(s.cfg.Seed, kind, n*31+salt) % uint64(mod))
}

// User is a person on the source forge.
type User struct {
	Index int // 1-based
	ID    int64
	Login string
	Name  string
	Email string
}

// User returns user i (1-based, 1 ≤ i ≤ Users).
func (s *Scenario) User(i int) User {
	name := fmt.Sprintf("User %d", i)
	if s.cfg.Unicode && i%3 == 0 {
		name = fmt.Sprintf("Zoë Ångström-%d", i)
	}
	return User{Index: i, ID: int64(userIDBase + i), Login: fmt.Sprintf("user%d", i),
		Name: name, Email: fmt.Sprintf("user%d@example.test", i)}
}

// UserByLogin finds a user by login.
func (s *Scenario) UserByLogin(login string) (User, bool) {
	var i int
	if _, err := fmt.Sscanf(login, "user%d", &i); err != nil || i < 1 || i > s.cfg.Users || fmt.Sprintf("user%d", i) != login {
		return User{}, false
	}
	return s.User(i), true
}

// Permission is the repository role of user i, cycling through GitHub's roles.
func (s *Scenario) Permission(i int) string {
	return [...]string{"admin", "maintain", "write", "triage", "read"}[(i-1)%5]
}

// Label is a repository label.
type Label struct {
	Index       int
	ID          int64
	Name        string
	Color       string
	Description string
}

// Label returns label i (1-based).
func (s *Scenario) Label(i int) Label {
	names := [...]string{"bug", "feature", "docs", "question", "security", "performance", "good first issue", "wontfix"}
	name := names[(i-1)%len(names)]
	if i > len(names) {
		name = fmt.Sprintf("%s-%d", name, i)
	}
	if s.cfg.Unicode && i%4 == 0 {
		name += " ✨"
	}
	return Label{Index: i, ID: int64(labelIDBase + i), Name: name,
		Color:       fmt.Sprintf("%06x", mix(s.cfg.Seed, kindLabel, i)&0xFFFFFF),
		Description: fmt.Sprintf("Label number %d", i)}
}

// Milestone is a repository milestone; every second one is closed.
type Milestone struct {
	Number      int
	ID          int64
	Title       string
	Description string
	Open        bool
	DueOn       time.Time
	Created     time.Time
	Updated     time.Time
}

// Milestone returns milestone i (1-based).
func (s *Scenario) Milestone(i int) Milestone {
	created := epoch.Add(time.Duration(i) * 24 * time.Hour)
	return Milestone{Number: i, ID: int64(milestoneIDBase + i), Title: fmt.Sprintf("v%d.0", i),
		Description: s.text(kindMilestone, i, 1), Open: i%2 == 1,
		DueOn: created.Add(90 * 24 * time.Hour), Created: created, Updated: created.Add(time.Hour)}
}

// Item is an issue or a pull request; both share one number space, as on
// GitHub and in the GitLab projects fakeforge serves.
type Item struct {
	Number    int
	ID        int64
	IsPR      bool
	PRIndex   int // 1-based among pull requests; 0 for issues
	Title     string
	Body      string
	Author    User
	Assignees []User
	Labels    []Label
	Milestone int // 0 for none
	Open      bool
	Merged    bool // pull requests only
	Locked    bool
	Created   time.Time
	Updated   time.Time
	Closed    time.Time // zero when open
	ClosedBy  User
	Comments  int
	Reactions []Reaction
}

// IsPR reports whether item number n is a pull request. Pull requests are
// spread evenly through the number space: n is one when ⌊n·P/T⌋ steps up.
func (s *Scenario) IsPR(n int) bool {
	t, p := s.Items(), s.cfg.PullRequests
	return n >= 1 && n <= t && (n*p)/t > ((n-1)*p)/t
}

// PRNumber maps the j-th pull request (1-based) to its item number: the
// smallest n with ⌊n·P/T⌋ ≥ j.
func (s *Scenario) PRNumber(j int) int {
	t, p := s.Items(), s.cfg.PullRequests
	return (j*t + p - 1) / p
}

// IssueNumber maps the j-th plain issue (1-based) to its item number.
func (s *Scenario) IssueNumber(j int) int {
	// n - ⌊n·P/T⌋ counts issues up to n; it never decreases, so search.
	lo, hi := j, s.Items()
	for lo < hi {
		mid := (lo + hi) / 2
		if mid-(mid*s.cfg.PullRequests)/s.Items() >= j {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// ItemCreated is when item n was opened; items are an hour apart.
func ItemCreated(n int) time.Time { return epoch.Add(time.Duration(n) * time.Hour) }

// ItemUpdated is when item n was last updated; it grows with n, so `since`
// and `sort=updated` need no scan.
func ItemUpdated(n int) time.Time { return ItemCreated(n).Add(30 * time.Minute) }

// ItemOpen reports whether item n is open (two in three are), without
// building the item, so that state filters cost nothing per entry.
func ItemOpen(n int) bool { return n%3 != 0 }

// ItemMerged reports whether item n is a merged pull request: every
// second closed one is.
func (s *Scenario) ItemMerged(n int) bool { return s.IsPR(n) && !ItemOpen(n) && n%2 == 0 }

// Item returns item n (1 ≤ n ≤ Items()).
func (s *Scenario) Item(n int) Item {
	c := s.cfg
	it := Item{Number: n, ID: int64(itemIDBase + n), IsPR: s.IsPR(n)}
	if it.IsPR {
		it.PRIndex = (n * c.PullRequests) / s.Items()
	}
	kind := "Issue"
	if it.IsPR {
		kind = "Pull request"
	}
	it.Title = fmt.Sprintf("%s %d: %s", kind, n, s.words(kindItem, n, 4))
	if c.Unicode && n%5 == 0 {
		it.Title += " — naïve café 日本語 🚀"
	}
	it.Body = s.text(kindItem, n, n)
	it.Author = s.User(1 + n%c.Users)
	for k := range s.pick(kindItem, n, 1, 3) {
		it.Assignees = append(it.Assignees, s.User(1+(n+k*7)%c.Users))
	}
	if c.Labels > 0 {
		for k := range s.pick(kindItem, n, 2, 3) {
			it.Labels = append(it.Labels, s.Label(1+(n+k*3)%c.Labels))
		}
	}
	if c.Milestones > 0 && n%3 != 0 {
		it.Milestone = 1 + n%c.Milestones
	}
	it.Open = ItemOpen(n)
	it.Merged = s.ItemMerged(n)
	it.Locked = n%97 == 0
	it.Created, it.Updated = ItemCreated(n), ItemUpdated(n)
	if !it.Open {
		it.Closed = it.Updated
		it.ClosedBy = s.User(1 + (n+1)%c.Users)
	}
	it.Comments = c.CommentsPerItem
	it.Reactions = s.ItemReactions(n)
	return it
}

// Comment is a conversation comment on an issue or pull request. Comments
// are numbered 1…Items()·CommentsPerItem, grouped by item, in creation order.
type Comment struct {
	Index   int
	ID      int64
	Item    int
	Author  User
	Body    string
	Created time.Time
	Updated time.Time
}

// CommentCount is the number of conversation comments in the repository.
func (s *Scenario) CommentCount() int { return s.Items() * s.cfg.CommentsPerItem }

// commentsStart is after the last item so comment times never precede their item.
func (s *Scenario) commentsStart() time.Time { return ItemCreated(s.Items() + 1) }

// Comment returns comment c (1-based).
func (s *Scenario) Comment(c int) Comment {
	item := (c-1)/s.cfg.CommentsPerItem + 1
	created := s.commentsStart().Add(time.Duration(c) * time.Minute)
	return Comment{Index: c, ID: int64(commentIDBase + c), Item: item,
		Author: s.User(1 + s.pick(kindComment, c, 0, s.cfg.Users)),
		Body:   s.text(kindComment, c, item), Created: created, Updated: created.Add(10 * time.Second)}
}

// ItemComments returns the range [first, last] of comment indexes on item n.
func (s *Scenario) ItemComments(n int) (first, last int) {
	return (n-1)*s.cfg.CommentsPerItem + 1, n * s.cfg.CommentsPerItem
}

// Review is a submitted pull-request review.
type Review struct {
	Index     int
	ID        int64
	PR        int // pull request index (1-based), not its number
	Author    User
	State     string // APPROVED, CHANGES_REQUESTED or COMMENTED
	Body      string
	Submitted time.Time
}

// Review returns review r (1-based) of all reviews, grouped by pull request.
func (s *Scenario) Review(r int) Review {
	pr := (r-1)/s.cfg.ReviewsPerPR + 1
	num := s.PRNumber(pr)
	states := [...]string{"APPROVED", "COMMENTED", "CHANGES_REQUESTED"}
	return Review{Index: r, ID: int64(reviewIDBase + r), PR: pr,
		Author: s.User(1 + (num+1+r)%s.cfg.Users), State: states[s.pick(kindReview, r, 0, len(states))],
		Body: s.words(kindReview, r, 6), Submitted: ItemCreated(num).Add(40 * time.Minute)}
}

// PRReviews returns the range of review indexes of pull request j.
func (s *Scenario) PRReviews(j int) (first, last int) {
	return (j-1)*s.cfg.ReviewsPerPR + 1, j * s.cfg.ReviewsPerPR
}

// RequestedReviewers of pull request j: one or two users, none for closed PRs.
func (s *Scenario) RequestedReviewers(j int) []User {
	num := s.PRNumber(j)
	if num%3 == 0 {
		return nil
	}
	out := []User{s.User(1 + (num+2)%s.cfg.Users)}
	if j%2 == 0 && s.cfg.Users > 3 {
		out = append(out, s.User(1+(num+3)%s.cfg.Users))
	}
	return out
}

// ReviewComment is an inline diff comment on a pull request.
type ReviewComment struct {
	Index     int
	ID        int64
	PR        int   // pull request index
	Review    int64 // review ID it was submitted with; 0 when there are no reviews
	InReplyTo int64 // ID of the thread's first comment, 0 for a thread start
	Path      string
	Line      int // line in the new file, 1-based
	Position  int // line offset in the diff hunk, as GitHub counts it
	DiffHunk  string
	Author    User
	Body      string
	Created   time.Time
}

// ReviewCommentCount is the number of inline review comments in the repository.
func (s *Scenario) ReviewCommentCount() int { return s.cfg.PullRequests * s.cfg.ReviewCommentsPerPR }

// FeatureFileLines is the length of the file every feature branch adds.
const FeatureFileLines = 12

// ReviewComment returns review comment r (1-based), grouped by pull request.
func (s *Scenario) ReviewComment(r int) ReviewComment {
	per := s.cfg.ReviewCommentsPerPR
	pr, k := (r-1)/per+1, (r-1)%per
	branch := s.PRBranch(pr)
	rc := ReviewComment{Index: r, ID: int64(reviewCommentIDBase + r), PR: pr,
		Path: FeatureFilePath(branch), Author: s.User(1 + s.pick(kindReviewComment, r, 0, s.cfg.Users)),
		Body:    s.text(kindReviewComment, r, s.PRNumber(pr)),
		Created: ItemCreated(s.PRNumber(pr)).Add(45*time.Minute + time.Duration(k)*time.Second)}
	if s.cfg.ReviewsPerPR > 0 {
		first, _ := s.PRReviews(pr)
		rc.Review = int64(reviewIDBase + first + k%s.cfg.ReviewsPerPR)
	}
	root := r
	if k%2 == 1 {
		root = r - 1
		rc.InReplyTo = int64(reviewCommentIDBase + root)
	}
	rc.Line = 1 + (root*5)%FeatureFileLines
	rc.Position = rc.Line
	rc.DiffHunk = DiffHunk(branch, rc.Line)
	return rc
}

// FeatureFilePath is the file feature branch b adds.
func FeatureFilePath(b int) string { return fmt.Sprintf("feature/branch-%d.txt", b) }

// FeatureFileLine is line l (1-based) of branch b's file.
func FeatureFileLine(b, l int) string { return fmt.Sprintf("branch %d line %d", b, l) }

// DiffHunk is GitHub's diff_hunk for a comment on line of branch b's new
// file: the hunk header and every line up to the commented one.
func DiffHunk(b, line int) string {
	h := fmt.Sprintf("@@ -0,0 +1,%d @@", FeatureFileLines)
	for l := 1; l <= line; l++ {
		h += "\n+" + FeatureFileLine(b, l)
	}
	return h
}

// Event is an issue event such as labeled or closed.
type Event struct {
	Index   int
	ID      int64
	Item    int
	Actor   User
	Event   string
	Label   Label // for labeled events
	Created time.Time
}

// EventCount is the number of issue events in the repository.
func (s *Scenario) EventCount() int { return s.Items() * s.cfg.EventsPerItem }

// Event returns event e (1-based), grouped by item.
func (s *Scenario) Event(e int) Event {
	item := (e-1)/s.cfg.EventsPerItem + 1
	kinds := [...]string{"labeled", "assigned", "renamed", "referenced", "milestoned", "unlabeled"}
	ev := Event{Index: e, ID: int64(eventIDBase + e), Item: item,
		Actor: s.User(1 + s.pick(kindEvent, e, 0, s.cfg.Users)),
		Event: kinds[(e-1)%len(kinds)], Created: ItemCreated(item).Add(time.Duration(20+(e-1)%s.cfg.EventsPerItem) * time.Minute)}
	// The last event of a closed item is the one that closed it, by its
	// closer: "merged" for a merged pull request, "closed" otherwise (as
	// GitHub's issue events say who merged or closed).
	if !ItemOpen(item) && (e-1)%s.cfg.EventsPerItem == s.cfg.EventsPerItem-1 {
		ev.Event, ev.Actor, ev.Created = "closed", s.User(1+(item+1)%s.cfg.Users), ItemUpdated(item)
		if s.ItemMerged(item) {
			ev.Event = "merged"
		}
		return ev
	}
	if s.cfg.Labels > 0 {
		ev.Label = s.Label(1 + e%s.cfg.Labels)
	} else if ev.Event == "labeled" || ev.Event == "unlabeled" {
		ev.Event = "referenced"
	}
	return ev
}

// Reaction is an emoji reaction on an issue or pull request.
type Reaction struct {
	ID      int64
	User    User
	Content string // GitHub's names: +1, -1, laugh, confused, heart, hooray, rocket, eyes
	Created time.Time
}

// ReactionContents are GitHub's reaction names, in its order.
var ReactionContents = [...]string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

// HasReactions reports whether item n carries reactions.
func (s *Scenario) HasReactions(n int) bool {
	return s.cfg.ReactionsEvery > 0 && s.cfg.ReactionsPerItem > 0 && n%s.cfg.ReactionsEvery == 0
}

// ItemReactions returns the reactions of item n, each by a different user
// when there are enough users.
func (s *Scenario) ItemReactions(n int) []Reaction {
	if !s.HasReactions(n) {
		return nil
	}
	out := make([]Reaction, s.cfg.ReactionsPerItem)
	for k := range out {
		out[k] = Reaction{ID: int64(reactionIDBase + n*s.cfg.ReactionsPerItem + k),
			User:    s.User(1 + (n+k)%s.cfg.Users),
			Content: ReactionContents[(n+k)%len(ReactionContents)], Created: ItemCreated(n).Add(50 * time.Minute)}
	}
	return out
}

// ReactedItems is how many items carry reactions.
func (s *Scenario) ReactedItems() int {
	if s.cfg.ReactionsEvery == 0 || s.cfg.ReactionsPerItem == 0 {
		return 0
	}
	return s.Items() / s.cfg.ReactionsEvery
}

// Release is a tagged release with downloadable assets.
type Release struct {
	Index   int
	ID      int64
	Tag     string
	Name    string
	Body    string
	Commit  int // main commit index the tag points at
	Created time.Time
	Assets  []Asset
}

// Asset is a file attached to a release.
type Asset struct {
	ID          int64
	Name        string
	ContentType string
	Content     []byte
}

// Release returns release i (1-based); later releases tag later commits.
func (s *Scenario) Release(i int) Release {
	r := Release{Index: i, ID: int64(releaseIDBase + i), Tag: ReleaseTag(i),
		Name: fmt.Sprintf("Release %d", i), Body: s.text(kindRelease, i, 1),
		Commit: (i * (s.cfg.Commits - 1)) / max(1, s.cfg.Releases), Created: epoch.Add(time.Duration(i) * 72 * time.Hour)}
	for a := range s.cfg.AssetsPerRelease {
		id := (i-1)*s.cfg.AssetsPerRelease + a + 1
		r.Assets = append(r.Assets, Asset{ID: int64(assetIDBase + id), Name: fmt.Sprintf("widgets-%s-%d.tar.gz", r.Tag, a),
			ContentType: "application/gzip", Content: s.blob(kindAsset, id, 512+a*64)})
	}
	return r
}

// ReleaseTag is the git tag of release i.
func ReleaseTag(i int) string { return fmt.Sprintf("v%d.0.0", i) }

// AssetByID finds a release asset, and its release, by the asset's ID.
func (s *Scenario) AssetByID(id int64) (Release, Asset, bool) {
	n := int(id - assetIDBase)
	if s.cfg.AssetsPerRelease == 0 || n < 1 || n > s.cfg.Releases*s.cfg.AssetsPerRelease {
		return Release{}, Asset{}, false
	}
	rel := s.Release((n-1)/s.cfg.AssetsPerRelease + 1)
	return rel, rel.Assets[(n-1)%s.cfg.AssetsPerRelease], true
}

// Branch is a git branch. Index 0 is main; feature branches are 1…Branches.
type Branch struct {
	Index     int
	Name      string
	Protected bool
}

// BranchCount includes main.
func (s *Scenario) BranchCount() int { return s.cfg.Branches + 1 }

// Branch returns branch b (0 = main).
func (s *Scenario) Branch(b int) Branch {
	name := "main"
	if b > 0 {
		name = fmt.Sprintf("feature/branch-%d", b)
	}
	return Branch{Index: b, Name: name, Protected: b < s.cfg.ProtectedBranches}
}

// BranchByName finds a branch by name.
func (s *Scenario) BranchByName(name string) (Branch, bool) {
	for b := range s.BranchCount() {
		if br := s.Branch(b); br.Name == name {
			return br, true
		}
	}
	return Branch{}, false
}

// PRBranch is the feature branch pull request j comes from.
func (s *Scenario) PRBranch(j int) int { return 1 + (j-1)%s.cfg.Branches }

// LFSObject is a file stored through Git LFS.
type LFSObject struct {
	Index   int
	Path    string
	OID     string // sha256 hex
	Content []byte
}

// LFSObject returns LFS object i (1-based).
func (s *Scenario) LFSObject(i int) LFSObject {
	content := s.blob(kindLFS, i, 2048+i*128)
	sum := sha256.Sum256(content)
	return LFSObject{Index: i, Path: fmt.Sprintf("assets/blob-%d.bin", i), OID: hex.EncodeToString(sum[:]), Content: content}
}

// blob makes n deterministic bytes.
func (s *Scenario) blob(kind uint64, i, n int) []byte {
	out := make([]byte, n)
	for k := 0; k < n; k += 8 {
		v := mix(s.cfg.Seed, kind, i*1_000_003+k)
		for b := 0; b < 8 && k+b < n; b++ {
			out[k+b] = byte(v >> (8 * b))
		}
	}
	return out
}

// index turns an identifier back into its 1-based index among n objects
// whose identifiers are base+index, for lookups by id (GraphQL node ids).
func index(id int64, base, n int) (int, bool) {
	i := id - int64(base)
	if i < 1 || i > int64(n) {
		return 0, false
	}
	return int(i), true
}

// UserByID finds a user by its id.
func (s *Scenario) UserByID(id int64) (User, bool) {
	i, ok := index(id, userIDBase, s.cfg.Users)
	if !ok {
		return User{}, false
	}
	return s.User(i), true
}

// ItemByID finds an issue or pull request by its (issue) id.
func (s *Scenario) ItemByID(id int64) (Item, bool) {
	n, ok := index(id, itemIDBase, s.Items())
	if !ok {
		return Item{}, false
	}
	return s.Item(n), true
}

// CommentByID finds a conversation comment by its id.
func (s *Scenario) CommentByID(id int64) (Comment, bool) {
	c, ok := index(id, commentIDBase, s.CommentCount())
	if !ok {
		return Comment{}, false
	}
	return s.Comment(c), true
}

// ReviewByID finds a pull-request review by its id.
func (s *Scenario) ReviewByID(id int64) (Review, bool) {
	r, ok := index(id, reviewIDBase, s.cfg.PullRequests*s.cfg.ReviewsPerPR)
	if !ok {
		return Review{}, false
	}
	return s.Review(r), true
}

// ReviewCommentByID finds an inline review comment by its id.
func (s *Scenario) ReviewCommentByID(id int64) (ReviewComment, bool) {
	r, ok := index(id, reviewCommentIDBase, s.ReviewCommentCount())
	if !ok {
		return ReviewComment{}, false
	}
	return s.ReviewComment(r), true
}
