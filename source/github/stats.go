package github

import "github.com/ferry-import/ferry/forge"

// ObjectType names objects in the import stats as GitLab's GitHub importer
// does (its ObjectCounter keys), so scripts reading stats see the same keys.
func (*Source) ObjectType(relation string, o forge.Object) string {
	switch x := o.(type) {
	case forge.MergeRequest:
		if relation == relPullRequestDetails {
			return "pull_request_merged_by" // the merged pull requests read again for who merged them
		}
		return "pull_request"
	case forge.Review:
		return "pull_request_review"
	case forge.Note:
		if x.Position != nil {
			return "diff_note"
		}
		if x.System {
			return "issue_event"
		}
		if relation == relPullRequestDetails {
			// A review's body as a note: counted apart from the reviews
			// (one object each, so fetched equals imported for both) and
			// from conversation comments ("note").
			return "pull_request_review_body"
		}
	case forge.Closure:
		if x.Merged {
			return "pull_request_merged_by"
		}
		return "closed_by"
	case forge.AwardEmoji:
		return "reaction"
	case forge.SourceUser:
		return "user"
	case forge.ProtectedBranch:
		return "protected_branch"
	}
	return ""
}
