package bitbucketserver

// The parts of Bitbucket Server's REST 1.0 answers the importer reads
// (checked against real server answers: fakeforge/bitbucketserver's
// testdata and spec/gitlab-import-spec.md §6).

type page[T any] struct {
	IsLastPage    *bool `json:"isLastPage"`
	NextPageStart int   `json:"nextPageStart"`
	Values        []T   `json:"values"`
}

type link struct {
	Href string `json:"href"`
	Name string `json:"name"`
}

type links struct {
	Clone []link `json:"clone"`
	Self  []link `json:"self"`
}

type project struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	Public bool   `json:"public"`
}

type repository struct {
	ID          int64   `json:"id"`
	Slug        string  `json:"slug"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	ScmID       string  `json:"scmId"`
	Public      bool    `json:"public"`
	Project     project `json:"project"`
	Links       links   `json:"links"`
}

type user struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Slug         string `json:"slug"`
	DisplayName  string `json:"displayName"`
	EmailAddress string `json:"emailAddress"`
}

type participant struct {
	User     user   `json:"user"`
	Role     string `json:"role"`
	Approved bool   `json:"approved"`
	Status   string `json:"status"` // APPROVED, NEEDS_WORK, UNAPPROVED
}

type ref struct {
	ID           string     `json:"id"`
	DisplayID    string     `json:"displayId"`
	LatestCommit string     `json:"latestCommit"`
	Repository   repository `json:"repository"`
}

type pullRequest struct {
	ID          int64         `json:"id"`
	Title       string        `json:"title"`
	Description string        `json:"description"`
	State       string        `json:"state"` // OPEN, MERGED, DECLINED
	Draft       bool          `json:"draft"`
	CreatedDate int64         `json:"createdDate"`
	UpdatedDate int64         `json:"updatedDate"`
	ClosedDate  int64         `json:"closedDate"`
	FromRef     ref           `json:"fromRef"`
	ToRef       ref           `json:"toRef"`
	Author      participant   `json:"author"`
	Reviewers   []participant `json:"reviewers"`
	Properties  struct {
		CommentCount int64 `json:"commentCount"`
		MergeCommit  *struct {
			ID string `json:"id"`
		} `json:"mergeCommit"`
	} `json:"properties"`
}

type comment struct {
	ID          int64     `json:"id"`
	Version     int       `json:"version"`
	Text        string    `json:"text"`
	Author      user      `json:"author"`
	CreatedDate int64     `json:"createdDate"`
	UpdatedDate int64     `json:"updatedDate"`
	Comments    []comment `json:"comments"`
	Severity    string    `json:"severity"` // NORMAL, BLOCKER (a task)
	State       string    `json:"state"`    // OPEN, RESOLVED
}

type commentAnchor struct {
	FromHash string `json:"fromHash"`
	ToHash   string `json:"toHash"`
	Line     int64  `json:"line"`
	LineType string `json:"lineType"` // ADDED, REMOVED, CONTEXT
	FileType string `json:"fileType"` // FROM, TO
	Path     string `json:"path"`
	SrcPath  string `json:"srcPath"`
	Orphaned bool   `json:"orphaned"`
}

type diffLine struct {
	Source      int64   `json:"source"`
	Destination int64   `json:"destination"`
	CommentIDs  []int64 `json:"commentIds"`
}

type diff struct {
	Hunks []struct {
		Segments []struct {
			Type  string     `json:"type"`
			Lines []diffLine `json:"lines"`
		} `json:"segments"`
	} `json:"hunks"`
}

type person struct {
	Name         string `json:"name"`
	EmailAddress string `json:"emailAddress"`
	DisplayName  string `json:"displayName"`
	Slug         string `json:"slug"`
}

type commit struct {
	ID                 string `json:"id"`
	Committer          person `json:"committer"`
	CommitterTimestamp int64  `json:"committerTimestamp"`
	Message            string `json:"message"`
}

type commitList struct {
	Commits []struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	} `json:"commits"`
	Total int `json:"total"`
}

type activity struct {
	ID            int64          `json:"id"`
	CreatedDate   int64          `json:"createdDate"`
	User          user           `json:"user"`
	Action        string         `json:"action"`
	CommentAction string         `json:"commentAction"`
	Comment       *comment       `json:"comment"`
	CommentAnchor *commentAnchor `json:"commentAnchor"`
	Diff          *diff          `json:"diff"`
	Commit        *commit        `json:"commit"`
	Added         *commitList    `json:"added"`
	Removed       *commitList    `json:"removed"`
}

// errorBody is Bitbucket Server's error answer.
type errorBody struct {
	Errors []struct {
		Message       string `json:"message"`
		ExceptionName string `json:"exceptionName"`
	} `json:"errors"`
}
