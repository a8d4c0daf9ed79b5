package main

import (
	"errors"
	"strings"
	"testing"
)

// TestReadBatch: the batch file's two formats give the same rows, and a
// wrong row is a usage error naming it.
func TestReadBatch(t *testing.T) {
	want := []batchRow{
		{Source: "github", Repo: "acme/widgets", Target: "platform", NewName: "widgets"},
		{Source: "bitbucket-server", Repo: "ACME/api", Target: "platform", URL: "https://bitbucket.example.com"},
		{Source: "gitlab-group", Repo: "acme", Target: "migrated"},
	}
	csvFile := writeFile(t, "repos.csv", "source,repo,target,new_name,url\n"+
		"github,acme/widgets,platform,widgets\n# a comment\nbitbucket-server, ACME/api ,platform,,https://bitbucket.example.com\ngitlab-group,acme,migrated\n")
	yamlFile := writeFile(t, "repos.yaml", `
- {source: github, repo: acme/widgets, target: platform, new_name: widgets}
- source: bitbucket-server
  repo: ACME/api
  target: platform
  url: https://bitbucket.example.com
- {source: gitlab-group, repo: acme, target: migrated}
`)
	wrapped := writeFile(t, "repos.yml", "imports:\n  - {source: github, repo: acme/widgets, target: platform, new_name: widgets}\n")
	for _, f := range []string{csvFile, yamlFile, wrapped} {
		rows, err := readBatch(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		n := len(want)
		if f == wrapped {
			n = 1
		}
		if len(rows) != n {
			t.Fatalf("%s: %d rows, want %d", f, len(rows), n)
		}
		for i := range rows {
			rows[i].line = 0
			if rows[i] != want[i] {
				t.Errorf("%s row %d: %+v, want %+v", f, i+1, rows[i], want[i])
			}
		}
	}
	for name, content := range map[string]string{
		"bad.csv":  "svn,acme/widgets,platform\n",
		"few.csv":  "github,acme/widgets\n",
		"none.csv": "source,repo,target\n",
		"bad.yaml": "- {source: github, repo: '', target: x}\n",
		"bad.txt":  "github,acme/widgets,platform\n",
	} {
		_, err := readBatch(writeFile(t, name, content))
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want a usage error naming the file", name, err)
		}
	}
}
