package bitbucketserver

// The shapes below follow Bitbucket Data Center 8.x REST 1.0: the fields
// of the recorded 5.x–7.x answers in testdata/, plus what 7.x and 8.x
// added (draft, ref type, archived, comment severity and state).

type link struct {
	Href string `json:"href"`
	Name string `json:"name,omitempty"`
}

type links struct {
	Clone []link `json:"clone,omitempty"`
	Self  []link `json:"self,omitempty"`
}

// User is a Bitbucket Server user. EmailAddress is absent for people
// without one.
type User struct {
	Name         string `json:"name"`
	EmailAddress string `json:"emailAddress,omitempty"`
	ID           int64  `json:"id"`
	DisplayName  string `json:"displayName"`
	Active       bool   `json:"active"`
	Slug         string `json:"slug"`
	Type         string `json:"type"`
	Links        links  `json:"links"`
}

// GitPerson is a commit author or committer who is no Bitbucket user.
type GitPerson struct {
	Name         string `json:"name"`
	EmailAddress string `json:"emailAddress"`
}

// Project is a Bitbucket Server project.
type Project struct {
	Key         string `json:"key"`
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Public      bool   `json:"public"`
	Type        string `json:"type"`
	Links       links  `json:"links"`
}

// Repository is a Bitbucket Server repository.
type Repository struct {
	Slug          string `json:"slug"`
	ID            int    `json:"id"`
	Name          string `json:"name"`
	Description   string `json:"description,omitempty"`
	HierarchyID   string `json:"hierarchyId"`
	ScmID         string `json:"scmId"`
	State         string `json:"state"`
	StatusMessage string `json:"statusMessage"`
	Forkable      bool   `json:"forkable"`
	// Origin is the repository a fork was forked from.
	Origin   *Repository `json:"origin,omitempty"`
	Project  Project     `json:"project"`
	Public   bool        `json:"public"`
	Archived bool        `json:"archived"`
	Links    links       `json:"links"`
}

// Ref is one side of a pull request.
type Ref struct {
	ID           string     `json:"id"`
	DisplayID    string     `json:"displayId"`
	LatestCommit string     `json:"latestCommit"`
	Type         string     `json:"type"`
	Repository   Repository `json:"repository"`
}

// Branch is an entry of the branches list, and the default branch.
type Branch struct {
	ID              string `json:"id"`
	DisplayID       string `json:"displayId"`
	Type            string `json:"type"`
	LatestCommit    string `json:"latestCommit"`
	LatestChangeset string `json:"latestChangeset"`
	IsDefault       bool   `json:"isDefault"`
}

// Tag is an entry of the tags list; Hash is the tag object of an
// annotated tag, null for a lightweight one.
type Tag struct {
	ID              string  `json:"id"`
	DisplayID       string  `json:"displayId"`
	Type            string  `json:"type"`
	LatestCommit    string  `json:"latestCommit"`
	LatestChangeset string  `json:"latestChangeset"`
	Hash            *string `json:"hash"`
}

// Participant is an author, reviewer or participant of a pull request.
type Participant struct {
	User               User   `json:"user"`
	LastReviewedCommit string `json:"lastReviewedCommit,omitempty"`
	Role               string `json:"role"`
	Approved           bool   `json:"approved"`
	Status             string `json:"status"`
}

// MergeResult tells whether an open pull request merges cleanly.
type MergeResult struct {
	Outcome string `json:"outcome"`
	Current bool   `json:"current"`
}

// CommitRef names a commit.
type CommitRef struct {
	ID        string `json:"id"`
	DisplayID string `json:"displayId"`
}

// PullRequestProperties are a pull request's computed properties.
type PullRequestProperties struct {
	MergeResult       *MergeResult `json:"mergeResult,omitempty"`
	MergeCommit       *CommitRef   `json:"mergeCommit,omitempty"`
	ResolvedTaskCount int          `json:"resolvedTaskCount"`
	CommentCount      int          `json:"commentCount,omitempty"`
	OpenTaskCount     int          `json:"openTaskCount"`
}

// PullRequest is a Bitbucket Server pull request.
type PullRequest struct {
	ID           int                   `json:"id"`
	Version      int                   `json:"version"`
	Title        string                `json:"title"`
	Description  string                `json:"description"`
	State        string                `json:"state"`
	Open         bool                  `json:"open"`
	Closed       bool                  `json:"closed"`
	Draft        bool                  `json:"draft"`
	CreatedDate  int64                 `json:"createdDate"`
	UpdatedDate  int64                 `json:"updatedDate"`
	ClosedDate   int64                 `json:"closedDate,omitempty"`
	FromRef      Ref                   `json:"fromRef"`
	ToRef        Ref                   `json:"toRef"`
	Locked       bool                  `json:"locked"`
	Author       Participant           `json:"author"`
	Reviewers    []Participant         `json:"reviewers"`
	Participants []Participant         `json:"participants"`
	Properties   PullRequestProperties `json:"properties"`
	Links        links                 `json:"links"`
}

// PermittedOperations says what the calling user may do to a comment.
type PermittedOperations struct {
	Editable       bool `json:"editable"`
	Transitionable bool `json:"transitionable,omitempty"`
	Deletable      bool `json:"deletable"`
}

// CommentProperties are a comment's properties.
type CommentProperties struct {
	RepositoryID int `json:"repositoryId"`
}

// Comment is a pull-request comment with its nested replies. A task is a
// comment of severity BLOCKER; state RESOLVED comes with its resolver.
type Comment struct {
	Properties          CommentProperties   `json:"properties"`
	ID                  int64               `json:"id"`
	Version             int                 `json:"version"`
	Text                string              `json:"text"`
	Author              User                `json:"author"`
	CreatedDate         int64               `json:"createdDate"`
	UpdatedDate         int64               `json:"updatedDate"`
	Comments            []Comment           `json:"comments"`
	Tasks               []any               `json:"tasks"`
	Severity            string              `json:"severity"`
	State               string              `json:"state"`
	ResolvedDate        int64               `json:"resolvedDate,omitempty"`
	Resolver            *User               `json:"resolver,omitempty"`
	ThreadResolved      bool                `json:"threadResolved"`
	PermittedOperations PermittedOperations `json:"permittedOperations"`
}

// CommentAnchor places an inline comment: Line is on FileType's side
// (FROM: the source file, TO: the destination file) of the diff from
// FromHash to ToHash of DiffType (EFFECTIVE: the pull request's, COMMIT:
// one commit's, RANGE: between two of its commits). SrcPath is absent for
// an added file.
type CommentAnchor struct {
	FromHash string `json:"fromHash"`
	ToHash   string `json:"toHash"`
	Line     int    `json:"line"`
	LineType string `json:"lineType"`
	FileType string `json:"fileType"`
	Path     string `json:"path"`
	SrcPath  string `json:"srcPath,omitempty"`
	DiffType string `json:"diffType"`
	Orphaned bool   `json:"orphaned"`
}

// DiffLine is one line of a diff segment.
type DiffLine struct {
	Destination int     `json:"destination"`
	Source      int     `json:"source"`
	Line        string  `json:"line"`
	Truncated   bool    `json:"truncated"`
	CommentIDs  []int64 `json:"commentIds,omitempty"`
}

// DiffSegment is a run of lines of one type.
type DiffSegment struct {
	Type      string     `json:"type"`
	Lines     []DiffLine `json:"lines"`
	Truncated bool       `json:"truncated"`
}

// DiffHunk is one hunk of a diff.
type DiffHunk struct {
	SourceLine      int           `json:"sourceLine"`
	SourceSpan      int           `json:"sourceSpan"`
	DestinationLine int           `json:"destinationLine"`
	DestinationSpan int           `json:"destinationSpan"`
	Segments        []DiffSegment `json:"segments"`
	Truncated       bool          `json:"truncated"`
}

// Path is Bitbucket's split file path.
type Path struct {
	Components []string `json:"components"`
	Parent     string   `json:"parent"`
	Name       string   `json:"name"`
	Extension  string   `json:"extension,omitempty"`
	ToString   string   `json:"toString"`
}

// DiffProperties name the commits a comment's diff runs between.
type DiffProperties struct {
	Current  bool   `json:"current"`
	FromHash string `json:"fromHash"`
	ToHash   string `json:"toHash"`
}

// Diff is the diff of one file: in a pull request's diff, or attached to
// an inline comment's activity (which names no source, as real servers
// answer).
type Diff struct {
	Source       *Path           `json:"source"`
	Destination  *Path           `json:"destination"`
	Hunks        []DiffHunk      `json:"hunks"`
	Truncated    bool            `json:"truncated"`
	Properties   *DiffProperties `json:"properties,omitempty"`
	LineComments []Comment       `json:"lineComments,omitempty"`
}

// Diffs is the answer of a pull request's diff endpoints.
type Diffs struct {
	FromHash     string `json:"fromHash"`
	ToHash       string `json:"toHash"`
	ContextLines int    `json:"contextLines"`
	Whitespace   string `json:"whitespace"`
	Diffs        []Diff `json:"diffs"`
	Truncated    bool   `json:"truncated"`
}

// Commit is a commit an activity names: the merge commit of a MERGED, the
// commits a RESCOPED added. Author and Committer are a User when the
// commit's identity is a Bitbucket user, else a GitPerson. A parent is a
// Commit too, and the parents of a parent only name themselves.
type Commit struct {
	ID                 string   `json:"id"`
	DisplayID          string   `json:"displayId"`
	Author             any      `json:"author,omitempty"`
	AuthorTimestamp    int64    `json:"authorTimestamp,omitempty"`
	Committer          any      `json:"committer,omitempty"`
	CommitterTimestamp int64    `json:"committerTimestamp,omitempty"`
	Message            string   `json:"message,omitempty"`
	Parents            []Commit `json:"parents,omitempty"`
}

// Commits is the added or removed commits of a RESCOPED activity.
type Commits struct {
	Commits []Commit `json:"commits"`
	Total   int      `json:"total"`
}

// Activity is one entry of a pull request's activity stream.
type Activity struct {
	ID               int64          `json:"id"`
	CreatedDate      int64          `json:"createdDate"`
	User             User           `json:"user"`
	Action           string         `json:"action"`
	CommentAction    string         `json:"commentAction,omitempty"`
	Comment          *Comment       `json:"comment,omitempty"`
	CommentAnchor    *CommentAnchor `json:"commentAnchor,omitempty"`
	Diff             *Diff          `json:"diff,omitempty"`
	Commit           *Commit        `json:"commit,omitempty"`
	FromHash         string         `json:"fromHash,omitempty"`
	PreviousFromHash string         `json:"previousFromHash,omitempty"`
	PreviousToHash   string         `json:"previousToHash,omitempty"`
	ToHash           string         `json:"toHash,omitempty"`
	Added            *Commits       `json:"added,omitempty"`
	Removed          *Commits       `json:"removed,omitempty"`
}

// Permission is an entry of a project's user permissions.
type Permission struct {
	User       User   `json:"user"`
	Permission string `json:"permission"`
}

// Page is Bitbucket's paged envelope, as clients decode it.
type Page[T any] struct {
	Size          int  `json:"size"`
	Limit         int  `json:"limit"`
	Start         int  `json:"start"`
	IsLastPage    bool `json:"isLastPage"`
	NextPageStart int  `json:"nextPageStart"`
	Values        []T  `json:"values"`
}
