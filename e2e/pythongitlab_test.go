package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store/storetest"
)

// pyPython is Debian's interpreter, for which python3-gitlab installs (the
// python3 on PATH may be another one, without it).
const pyPython = "/usr/bin/python3"

// pyFacts is what testdata/pythongitlab/read.py prints.
type pyFacts struct {
	Version string `json:"python_gitlab"`
	User    string `json:"user"`
	Project struct {
		ID                int64  `json:"id"`
		PathWithNamespace string `json:"path_with_namespace"`
		Name              string `json:"name"`
		DefaultBranch     string `json:"default_branch"`
		Visibility        string `json:"visibility"`
	} `json:"project"`
	Issues    int     `json:"issues"`
	IssueIIDs []int64 `json:"issue_iids"`
	Issue     struct {
		IID   int64    `json:"iid"`
		Title string   `json:"title"`
		State string   `json:"state"`
		Notes []pyNote `json:"notes"`
	} `json:"issue"`
	MergeRequests int     `json:"merge_requests"`
	MRIIDs        []int64 `json:"merge_request_iids"`
	MR            struct {
		IID      int64  `json:"iid"`
		State    string `json:"state"`
		Title    string `json:"title"`
		DiffRefs struct {
			BaseSHA  string `json:"base_sha"`
			HeadSHA  string `json:"head_sha"`
			StartSHA string `json:"start_sha"`
		} `json:"diff_refs"`
		Commits  []string `json:"commits"`
		Changes  []pyDiff `json:"changes"`
		Versions []struct {
			ID            int64  `json:"id"`
			HeadCommitSHA string `json:"head_commit_sha"`
			BaseCommitSHA string `json:"base_commit_sha"`
		} `json:"versions"`
		Version struct {
			ID            int64    `json:"id"`
			HeadCommitSHA string   `json:"head_commit_sha"`
			Commits       []string `json:"commits"`
			Diffs         []pyDiff `json:"diffs"`
		} `json:"version"`
		Approvals struct {
			Approved   bool     `json:"approved"`
			ApprovedBy []string `json:"approved_by"`
		} `json:"approvals"`
		Discussions []struct {
			ID    string  `json:"id"`
			Notes []int64 `json:"notes"`
		} `json:"discussions"`
		StateEvents []string `json:"state_events"`
	} `json:"mr"`
	IssueEvents struct {
		IID   int64          `json:"iid"`
		Label []pyLabelEvent `json:"label"`
		State []pyStateEvent `json:"state"`
		// Milestone events: python-gitlab reads the list (the scenario's
		// GitHub milestone events name no imported milestone).
		Milestone []struct {
			ID int64 `json:"id"`
		} `json:"milestone"`
		OneLabel string `json:"one_label"`
	} `json:"issue_events"`
	Tree    []pyTreeNode `json:"tree"`
	Compare struct {
		Commits []string `json:"commits"`
		Diffs   []pyDiff `json:"diffs"`
	} `json:"compare"`
	Blob struct {
		SHA      string `json:"sha"`
		Size     int    `json:"size"`
		Encoding string `json:"encoding"`
		Content  string `json:"content"`
		Raw      string `json:"raw"`
		RawLen   int    `json:"raw_len"`
	} `json:"blob"`
	Labels     []string `json:"labels"`
	Milestones []string `json:"milestones"`
	Releases   []string `json:"releases"`
	Wikis      []string `json:"wikis"`
	WikiHome   string   `json:"wiki_home"`
	Import     struct {
		ImportStatus string `json:"import_status"`
		ImportType   string `json:"import_type"`
		ImportError  any    `json:"import_error"`
	} `json:"import"`
}

type pyNote struct {
	ID     int64  `json:"id"`
	Body   string `json:"body"`
	System bool   `json:"system"`
	Author string `json:"author"`
}

type pyLabelEvent struct {
	ID           int64  `json:"id"`
	Action       string `json:"action"`
	Label        string `json:"label"`
	LabelID      int64  `json:"label_id"`
	ResourceType string `json:"resource_type"`
	ResourceID   int64  `json:"resource_id"`
	User         string `json:"user"`
}

type pyStateEvent struct {
	ID           int64  `json:"id"`
	State        string `json:"state"`
	ResourceType string `json:"resource_type"`
	ResourceID   int64  `json:"resource_id"`
	User         string `json:"user"`
}

type pyDiff struct {
	OldPath     string `json:"old_path"`
	NewPath     string `json:"new_path"`
	Diff        string `json:"diff"`
	NewFile     bool   `json:"new_file"`
	DeletedFile bool   `json:"deleted_file"`
	RenamedFile bool   `json:"renamed_file"`
}

type pyTreeNode struct {
	ID   string `json:"id"`
	Path string `json:"path"`
	Type string `json:"type"`
	Mode string `json:"mode"`
}

func pyDiffs[T any](ds []T, conv func(T) pyDiff) []pyDiff {
	out := []pyDiff{}
	for _, d := range ds {
		out = append(out, conv(d))
	}
	return out
}

func fromDiff(d *gitlab.Diff) pyDiff {
	return pyDiff{d.OldPath, d.NewPath, d.Diff, d.NewFile, d.DeletedFile, d.RenamedFile}
}

func commitIDs(cs []*gitlab.Commit) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func sortedStrings(xs []string) []string {
	out := append([]string{}, xs...)
	sort.Strings(out)
	return out
}

// TestPythonGitLabReadsAnImport: a GitHub import read back with
// python-gitlab (Debian's python3-gitlab), every fact compared with what
// client-go and the store say of the same project.
func TestPythonGitLabReadsAnImport(t *testing.T) {
	t.Parallel()
	if out, err := exec.Command(pyPython, "-c", "import gitlab").CombinedOutput(); err != nil {
		t.Skipf("python-gitlab is not importable by %s (install Debian's python3-gitlab): %v %s", pyPython, err, bytes.TrimSpace(out))
	}
	script, err := filepath.Abs(filepath.Join("testdata", "pythongitlab", "read.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forge(t, traffic.Faults{}, nil)
			sc := f.Scenario
			want, _ := sc.Expected("github")
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			root := in.Client(t, in.RootToken)
			grp := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("group"), Path: gitlab.Ptr("group")}))(t)
			must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("subgroup"), Path: gitlab.Ptr("subgroup"), ParentID: &grp.ID}))(t)
			const path = "group/subgroup/NEW-NAME"
			pid := startImport(t, in, f, "group/subgroup")
			if st := waitImport(t, in, pid, nil); st["import_status"] != "finished" {
				t.Fatalf("import ended %v: %v", st["import_status"], st["import_error"])
			}

			// The items read in detail: an issue with comments, a merged
			// merge request (review threads, commits, a diff).
			issueIID := 0
			for n := 1; n <= sc.Items(); n++ {
				if it := sc.Item(n); !it.IsPR && it.Comments > 0 {
					issueIID = n
					break
				}
			}
			if issueIID == 0 {
				t.Fatal("the scenario has no issue with comments")
			}
			// And an issue with label or state events (labeled, unlabeled,
			// closed), for its resource events.
			eventIID := 0
			for n := 1; n <= sc.Items() && eventIID == 0; n++ {
				if sc.Item(n).IsPR {
					continue
				}
				per := sc.Config().EventsPerItem
				for e := (n-1)*per + 1; e <= n*per; e++ {
					if ev := sc.Event(e).Event; ev == "labeled" || ev == "unlabeled" || ev == "closed" {
						eventIID = n
					}
				}
			}
			if eventIID == 0 {
				t.Fatal("the scenario has no issue with label or state events")
			}
			mrs := all(t, func(o gitlab.ListOptions) ([]*gitlab.BasicMergeRequest, *gitlab.Response, error) {
				return root.MergeRequests.ListProjectMergeRequests(pid, &gitlab.ListProjectMergeRequestsOptions{ListOptions: o, State: gitlab.Ptr("all")})
			})
			// Preferably one with approvals (from approved reviews).
			approvals := func(iid int64) int {
				return count(t, in, `SELECT COUNT(*) FROM approvals WHERE project_id = $1 AND mr_iid = $2`, pid, iid)
			}
			var mrIID int64
			for _, mr := range mrs {
				if mr.State != "merged" {
					continue
				}
				if mrIID == 0 {
					mrIID = mr.IID
				}
				if approvals(mr.IID) > 0 {
					mrIID = mr.IID
					break
				}
			}
			if mrIID == 0 {
				t.Fatal("no merged merge request imported")
			}

			archive := filepath.Join(t.TempDir(), "archive.tar.gz")
			cmd := exec.Command(pyPython, script)
			// URL and token in the environment only: argv shows in ps.
			cmd.Env = append(os.Environ(), "FERRY_URL="+in.URL, "FERRY_TOKEN="+in.RootToken, "FERRY_PROJECT="+path,
				"FERRY_ISSUE="+strconv.Itoa(issueIID), "FERRY_MR="+strconv.FormatInt(mrIID, 10), "FERRY_ARCHIVE="+archive,
				"FERRY_EVENT_ISSUE="+strconv.Itoa(eventIID))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("python-gitlab script: %v\n%s", err, stderr.String())
			}
			var py pyFacts
			if err := json.Unmarshal(stdout.Bytes(), &py); err != nil {
				t.Fatalf("script output: %v\n%s", err, stdout.String())
			}
			t.Logf("python-gitlab %s read %s: %d issues, %d merge requests, %d tree entries, %d labels, %d milestones, %d releases, %d wiki pages",
				py.Version, path, py.Issues, py.MergeRequests, len(py.Tree), len(py.Labels), len(py.Milestones), len(py.Releases), len(py.Wikis))
			t.Logf("python-gitlab read issue #%d (%d notes), merge request !%d (%d commits, %d changes, %d versions, %d discussions, %d approvers), compare %d commits/%d diffs, blob %s (%d bytes)",
				py.Issue.IID, len(py.Issue.Notes), py.MR.IID, len(py.MR.Commits), len(py.MR.Changes), len(py.MR.Versions), len(py.MR.Discussions),
				len(py.MR.Approvals.ApprovedBy), len(py.Compare.Commits), len(py.Compare.Diffs), py.Blob.SHA, py.Blob.RawLen)
			t.Logf("python-gitlab read issue #%d's resource events: %d label, %d state, %d milestone; !%d's state events %v",
				py.IssueEvents.IID, len(py.IssueEvents.Label), len(py.IssueEvents.State), len(py.IssueEvents.Milestone), py.MR.IID, py.MR.StateEvents)
			eq := func(what string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("python-gitlab %s:\n got  %+v\n want %+v", what, got, want)
				}
			}

			me := must(root.Users.CurrentUser())(t)
			eq("gl.auth() user", py.User, me.Username)

			p := must(root.Projects.GetProject(path, nil))(t)
			eq("project", []any{py.Project.ID, py.Project.PathWithNamespace, py.Project.Name, py.Project.DefaultBranch, py.Project.Visibility},
				[]any{p.ID, p.PathWithNamespace, p.Name, p.DefaultBranch, string(p.Visibility)})
			eq("project id", py.Project.ID, pid)
			eq("project path", py.Project.PathWithNamespace, path)

			// Issues: every one, as the scenario and client-go count them.
			issues := all(t, func(o gitlab.ListOptions) ([]*gitlab.Issue, *gitlab.Response, error) {
				return root.Issues.ListProjectIssues(pid, &gitlab.ListProjectIssuesOptions{ListOptions: o, State: gitlab.Ptr("all")})
			})
			var iids []int64
			for _, is := range issues {
				iids = append(iids, is.IID)
			}
			sort.Slice(iids, func(i, j int) bool { return iids[i] < iids[j] })
			eq("issues.list(get_all=True) count", py.Issues, sc.Config().Issues)
			eq("issues.list(get_all=True) iids", py.IssueIIDs, iids)
			is := must(root.Issues.GetIssue(pid, int64(issueIID)))(t)
			eq("issue", []any{py.Issue.IID, py.Issue.Title, py.Issue.State}, []any{is.IID, is.Title, is.State})
			notes := all(t, func(o gitlab.ListOptions) ([]*gitlab.Note, *gitlab.Response, error) {
				return root.Notes.ListIssueNotes(pid, int64(issueIID), &gitlab.ListIssueNotesOptions{ListOptions: o})
			})
			wantNotes, user := []pyNote{}, 0
			for _, n := range notes {
				wantNotes = append(wantNotes, pyNote{n.ID, n.Body, n.System, n.Author.Username})
				if !n.System {
					user++
				}
			}
			eq("issue notes", py.Issue.Notes, wantNotes)
			eq("issue comments", user, sc.Item(issueIID).Comments)

			// Resource events, against client-go's reading.
			evIssue := must(root.Issues.GetIssue(pid, int64(eventIID)))(t)
			wantLabels, wantStates := []pyLabelEvent{}, []pyStateEvent{}
			for _, e := range must(root.ResourceLabelEvents.ListIssueLabelEvents(pid, int64(eventIID), nil))(t) {
				wantLabels = append(wantLabels, pyLabelEvent{e.ID, e.Action, e.Label.Name, e.Label.ID, e.ResourceType, e.ResourceID, e.User.Username})
			}
			for _, e := range must(root.ResourceStateEvents.ListIssueStateEvents(pid, int64(eventIID), nil))(t) {
				wantStates = append(wantStates, pyStateEvent{e.ID, string(e.State), e.ResourceType, e.ResourceID, e.User.Username})
			}
			if len(wantLabels)+len(wantStates) == 0 || evIssue.ID == 0 {
				t.Errorf("issue #%d: no label or state events to compare", eventIID)
			}
			eq("issue.resourcelabelevents.list()", py.IssueEvents.Label, wantLabels)
			eq("issue.resourcestateevents.list()", py.IssueEvents.State, wantStates)
			eq("issue.resourcemilestoneevents.list() count", len(py.IssueEvents.Milestone),
				len(must(root.ResourceMilestoneEvents.ListIssueMilestoneEvents(pid, int64(eventIID), nil))(t)))
			if len(wantLabels) > 0 {
				eq("issue.resourcelabelevents.get()", py.IssueEvents.OneLabel, wantLabels[0].Label)
				eq("label event resource_id", wantLabels[0].ResourceID, evIssue.ID)
			}

			// Merge requests.
			var mrIIDs []int64
			for _, mr := range mrs {
				mrIIDs = append(mrIIDs, mr.IID)
			}
			sort.Slice(mrIIDs, func(i, j int) bool { return mrIIDs[i] < mrIIDs[j] })
			eq("mergerequests.list(get_all=True) count", py.MergeRequests, sc.Config().PullRequests)
			eq("mergerequests.list(get_all=True) iids", py.MRIIDs, mrIIDs)
			mr := must(root.MergeRequests.GetMergeRequest(pid, mrIID, nil))(t)
			eq("merge request", []any{py.MR.IID, py.MR.State, py.MR.Title}, []any{mr.IID, mr.State, mr.Title})
			eq("merge request diff_refs", []string{py.MR.DiffRefs.BaseSHA, py.MR.DiffRefs.HeadSHA, py.MR.DiffRefs.StartSHA},
				[]string{mr.DiffRefs.BaseSha, mr.DiffRefs.HeadSha, mr.DiffRefs.StartSha})
			commits := must(root.MergeRequests.GetMergeRequestCommits(pid, mrIID, &gitlab.GetMergeRequestCommitsOptions{ListOptions: gitlab.ListOptions{PerPage: 100}}))(t)
			if len(commits) == 0 {
				t.Errorf("!%d has no commits", mrIID)
			}
			eq("mr.commits()", py.MR.Commits, commitIDs(commits))
			diffs := must(root.MergeRequests.ListMergeRequestDiffs(pid, mrIID, &gitlab.ListMergeRequestDiffsOptions{ListOptions: gitlab.ListOptions{PerPage: 100}}))(t)
			if len(diffs) == 0 {
				t.Errorf("!%d has no diffs", mrIID)
			}
			eq("mr.changes()['changes']", py.MR.Changes, pyDiffs(diffs, func(d *gitlab.MergeRequestDiff) pyDiff {
				return pyDiff{d.OldPath, d.NewPath, d.Diff, d.NewFile, d.DeletedFile, d.RenamedFile}
			}))
			versions := must(root.MergeRequests.GetMergeRequestDiffVersions(pid, mrIID, nil))(t)
			if len(versions) == 0 || len(py.MR.Versions) != len(versions) {
				t.Fatalf("mr.diffs.list(): %d versions, client-go %d", len(py.MR.Versions), len(versions))
			}
			for i, v := range versions {
				eq("mr.diffs.list() version", []any{py.MR.Versions[i].ID, py.MR.Versions[i].HeadCommitSHA, py.MR.Versions[i].BaseCommitSHA},
					[]any{v.ID, v.HeadCommitSHA, v.BaseCommitSHA})
			}
			v := must(root.MergeRequests.GetSingleMergeRequestDiffVersion(pid, mrIID, versions[0].ID, nil))(t)
			eq("mr.diffs.get() head", []any{py.MR.Version.ID, py.MR.Version.HeadCommitSHA}, []any{v.ID, v.HeadCommitSHA})
			eq("mr.diffs.get() commits", py.MR.Version.Commits, commitIDs(v.Commits))
			eq("mr.diffs.get() diffs", py.MR.Version.Diffs, pyDiffs(v.Diffs, fromDiff))
			eq("mr.diffs.get() diffs against mr.changes()", py.MR.Version.Diffs, py.MR.Changes)
			eq("mr.resourcestateevents.list()", py.MR.StateEvents, []string{"merged"})
			ap := must(root.MergeRequestApprovals.GetConfiguration(pid, mrIID))(t)
			approvedBy := []string{}
			for _, a := range ap.ApprovedBy {
				approvedBy = append(approvedBy, a.User.Username)
			}
			eq("mr.approvals.get() approvers, against the store", len(py.MR.Approvals.ApprovedBy), approvals(mrIID))
			eq("mr.approvals.get()", []any{py.MR.Approvals.Approved, sortedStrings(py.MR.Approvals.ApprovedBy)}, []any{ap.Approved, sortedStrings(approvedBy)})
			ds := all(t, func(o gitlab.ListOptions) ([]*gitlab.Discussion, *gitlab.Response, error) {
				return root.Discussions.ListMergeRequestDiscussions(pid, mrIID, &gitlab.ListMergeRequestDiscussionsOptions{ListOptions: o})
			})
			if len(ds) == 0 || len(py.MR.Discussions) != len(ds) {
				t.Errorf("mr.discussions.list(): %d discussions, client-go %d", len(py.MR.Discussions), len(ds))
			} else {
				for i, d := range ds {
					var ids []int64
					for _, n := range d.Notes {
						ids = append(ids, n.ID)
					}
					eq("mr.discussions.list() discussion", []any{py.MR.Discussions[i].ID, py.MR.Discussions[i].Notes}, []any{d.ID, ids})
				}
			}

			// The repository: tree, compare, a blob, the archive.
			tree := all(t, func(o gitlab.ListOptions) ([]*gitlab.TreeNode, *gitlab.Response, error) {
				return root.Repositories.ListTree(pid, &gitlab.ListTreeOptions{ListOptions: o, Recursive: gitlab.Ptr(true)})
			})
			wantTree := []pyTreeNode{}
			blobs := map[string]string{} // path → blob id
			for _, n := range tree {
				wantTree = append(wantTree, pyTreeNode{n.ID, n.Path, n.Type, n.Mode})
				if n.Type == "blob" {
					blobs[n.Path] = n.ID
				}
			}
			sort.Slice(wantTree, func(i, j int) bool { return wantTree[i].Path < wantTree[j].Path })
			if len(blobs) == 0 {
				t.Errorf("the imported repository's tree has no files")
			}
			eq("repository_tree(recursive=True, get_all=True)", py.Tree, wantTree)
			// And as git sees ferry's copy of the repository.
			bare := in.App.Git.Path(pid)
			gitTree := []pyTreeNode{}
			for _, line := range strings.Split(strings.TrimSpace(git(t, bare, "ls-tree", "-r", "-t", p.DefaultBranch)), "\n") {
				meta, path, _ := strings.Cut(line, "\t")
				fs := strings.Fields(meta)
				gitTree = append(gitTree, pyTreeNode{fs[2], path, fs[1], fs[0]})
			}
			sort.Slice(gitTree, func(i, j int) bool { return gitTree[i].Path < gitTree[j].Path })
			eq("repository_tree against git ls-tree", py.Tree, gitTree)
			cmp := must(root.Repositories.Compare(pid, &gitlab.CompareOptions{From: gitlab.Ptr(mr.DiffRefs.BaseSha), To: gitlab.Ptr(mr.DiffRefs.HeadSha)}))(t)
			if len(cmp.Commits) == 0 || len(cmp.Diffs) == 0 {
				t.Errorf("compare %s...%s: %d commits, %d diffs", mr.DiffRefs.BaseSha, mr.DiffRefs.HeadSha, len(cmp.Commits), len(cmp.Diffs))
			}
			eq("repository_compare commits", py.Compare.Commits, commitIDs(cmp.Commits))
			eq("repository_compare diffs", py.Compare.Diffs, pyDiffs(cmp.Diffs, fromDiff))
			revs := strings.Fields(git(t, bare, "rev-list", mr.DiffRefs.BaseSha+".."+mr.DiffRefs.HeadSha))
			eq("repository_compare commits against git rev-list", sortedStrings(py.Compare.Commits), sortedStrings(revs))
			eq("repository_compare commits against mr.commits()", sortedStrings(py.Compare.Commits), sortedStrings(py.MR.Commits))

			var first pyTreeNode // the blob the script read: the first by path
			for _, n := range wantTree {
				if n.Type == "blob" {
					first = n
					break
				}
			}
			raw := must(root.Repositories.RawBlobContent(pid, py.Blob.SHA))(t)
			content, err := base64.StdEncoding.DecodeString(py.Blob.Content)
			if err != nil || py.Blob.Encoding != "base64" {
				t.Errorf("repository_blob: encoding %q, content not base64: %v", py.Blob.Encoding, err)
			}
			eq("repository_blob sha", py.Blob.SHA, first.ID)
			eq("repository_blob content", string(content), string(raw))
			eq("repository_blob size", py.Blob.Size, len(raw))
			eq("repository_raw_blob", []any{py.Blob.Raw, py.Blob.RawLen}, []any{strings.ToValidUTF8(string(raw), "\uFFFD"), len(raw)})

			files, err := tarGzFiles(archive)
			if err != nil {
				t.Errorf("repository_archive(): not a valid tar.gz: %v", err)
			}
			var gotPaths, wantPaths []string
			for p := range files {
				gotPaths = append(gotPaths, p)
			}
			for p := range blobs {
				wantPaths = append(wantPaths, p)
			}
			eq("repository_archive() files", sortedStrings(gotPaths), sortedStrings(wantPaths))
			if c, ok := files[first.Path]; !ok || !bytes.Equal(c, raw) {
				t.Errorf("repository_archive() %s differs from the raw blob", first.Path)
			}

			// Labels, milestones, releases, the wiki.
			var labels, milestones, releases, wikis []string
			for _, l := range all(t, func(o gitlab.ListOptions) ([]*gitlab.Label, *gitlab.Response, error) {
				return root.Labels.ListLabels(pid, &gitlab.ListLabelsOptions{ListOptions: o})
			}) {
				labels = append(labels, l.Name)
			}
			for _, m := range all(t, func(o gitlab.ListOptions) ([]*gitlab.Milestone, *gitlab.Response, error) {
				return root.Milestones.ListMilestones(pid, &gitlab.ListMilestonesOptions{ListOptions: o})
			}) {
				milestones = append(milestones, m.Title)
			}
			for _, r := range all(t, func(o gitlab.ListOptions) ([]*gitlab.Release, *gitlab.Response, error) {
				return root.Releases.ListReleases(pid, &gitlab.ListReleasesOptions{ListOptions: o})
			}) {
				releases = append(releases, r.TagName)
			}
			for _, w := range must(root.Wikis.ListWikis(pid, nil))(t) {
				wikis = append(wikis, w.Slug)
			}
			eq("labels.list()", py.Labels, sortedStrings(labels))
			eq("milestones.list()", py.Milestones, sortedStrings(milestones))
			eq("releases.list()", py.Releases, sortedStrings(releases))
			eq("wikis.list()", py.Wikis, sortedStrings(wikis))
			eq("labels count", len(py.Labels), want["labels"])
			eq("milestones count", len(py.Milestones), want["milestones"])
			eq("releases count", len(py.Releases), want["releases"])
			// fakeforge's GitHub wiki: Home.md and Installation.md.
			eq("wikis.list() slugs", py.Wikis, []string{"Home", "Installation"})
			if !strings.Contains(py.WikiHome, "Welcome to the widgets wiki.") {
				t.Errorf("wikis.get('Home').content = %q", py.WikiHome)
			}

			st := must(root.ProjectImportExport.ImportStatus(pid))(t)
			eq("project.imports.get()", []any{py.Import.ImportStatus, py.Import.ImportType, py.Import.ImportError},
				[]any{st.ImportStatus, st.ImportType, status(t, in, pid)["import_error"]})
			eq("project.imports.get() status", py.Import.ImportStatus, "finished")
		})
	}
}

// tarGzFiles reads a tar.gz archive's regular files, keyed by their path
// below the archive's top directory.
func tarGzFiles(name string) (map[string][]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return files, err
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeSymlink {
			continue
		}
		_, rest, ok := strings.Cut(h.Name, "/")
		if !ok {
			return files, errors.New("entry outside a top directory: " + h.Name)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return files, err
		}
		files[rest] = b
	}
	if len(files) == 0 {
		return files, errors.New("no files")
	}
	return files, zr.Close()
}
