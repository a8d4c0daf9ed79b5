package github

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/ferry-import/ferry/importer"
)

// checkCloneURL makes sure the clone URL GitHub gave lives on the source
// itself (the API host, or github.com for api.github.com): the credential
// goes with every git request, and a source must not be able to send it
// elsewhere by answering with a foreign clone_url.
func checkCloneURL(apiBase, clone string) error {
	a, err := url.Parse(apiBase)
	if err != nil {
		return &importer.Permanent{Err: fmt.Errorf("API base %q: %w", apiBase, err)}
	}
	c, err := url.Parse(clone)
	if err != nil || (c.Scheme != "https" && c.Scheme != "http") || c.User != nil {
		return &importer.Permanent{Err: fmt.Errorf("unusable clone URL from the source")}
	}
	same := strings.EqualFold(c.Host, a.Host) ||
		(strings.EqualFold(a.Host, "api.github.com") && strings.EqualFold(c.Host, "github.com"))
	if !same || c.Scheme != a.Scheme {
		return &importer.Permanent{Err: fmt.Errorf("clone URL host %q is not the source's (%q); refusing to send the credential there", c.Host, a.Host)}
	}
	return nil
}
