package api

import (
	"regexp"
	"strings"

	"github.com/ferry-import/ferry"
)

// bitbucketServerImport is POST /import/bitbucket_server
// (lib/api/import_bitbucket_server.rb, Import::BitbucketServerService):
// the namespace is found or created, falling back to the caller's own,
// and every answer of the service is {"message": {"error": …}}.
var bitbucketServerImport = &importEndpoint{
	sourceType: "bitbucket_server",
	title:      "Bitbucket Server",
	envelope:   bitbucketServerEnvelope,
	parse:      parseBitbucketServerImport,
	target:     (*Server).findOrCreateNamespace,
	// 401, not 403, as GitLab.
	errNotAllowed: ferry.Errorf(ferry.EUNAUTHORIZED, "You don't have permissions to import this project"),
}

// Bitbucket Server project keys (a leading ~ marks a personal project) and
// repository slugs, as GitLab checks them before using them in a URL:
// Ruby's \w and \s, both ASCII.
var (
	bitbucketProjectKey = regexp.MustCompile(`\A~?[A-Za-z0-9_.\-\t\n\v\f\r ]+\z`)
	bitbucketRepoSlug   = regexp.MustCompile(`\A[A-Za-z0-9_.\-\t\n\v\f\r ]+\z`)
)

// bitbucketServerOptions is what a Bitbucket Server import keeps of its
// request besides its SourceURL (the server's base URL), its SourceRef
// (KEY/slug) and its sealed token: the user the token goes with.
type bitbucketServerOptions struct {
	// Username is the HTTP Basic user; empty sends the token as a Bearer
	// token (a Bitbucket HTTP access token).
	Username string `json:"username"`
}

func (*bitbucketServerOptions) checked(*SourceRepo) {}

func parseBitbucketServerImport(p *params) (*importRequest, error) {
	address, _ := p.require("bitbucket_server_url")
	username, _ := p.require("bitbucket_server_username")
	token, _ := p.require("personal_access_token")
	key, _ := p.require("bitbucket_server_project")
	slug, _ := p.require("bitbucket_server_repo")
	newName, _ := p.str("new_name")
	newNamespace, _ := p.str("new_namespace")
	// Not declared, but read: find_or_create_namespace prefers it, and
	// python-gitlab and gitbeaker send it instead of new_namespace.
	targetNamespace, _ := p.str("target_namespace")
	timeout := timeoutStrategy(p)
	if err := p.err(); err != nil {
		return nil, err
	}
	if presence(key) == "" || !bitbucketProjectKey.MatchString(key) {
		return nil, ferry.Errorf(ferry.EUNPROCESSABLE, "Missing or invalid project key")
	}
	if presence(slug) == "" || !bitbucketRepoSlug.MatchString(slug) {
		return nil, ferry.Errorf(ferry.EUNPROCESSABLE, "Missing or invalid repository slug")
	}
	namespace := presence(targetNamespace)
	if namespace == "" {
		namespace = presence(newNamespace)
	}
	return &importRequest{address: address, ref: key + "/" + slug, credential: token, namespace: namespace, newName: presence(newName),
		timeout: timeout, options: &bitbucketServerOptions{Username: username}}, nil
}

// presence is Rails' presence for a string: "" when blank.
func presence(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return s
}
