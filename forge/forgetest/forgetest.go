// Package forgetest builds deterministic imported content for tests and
// benchmarks: a project's worth of forge objects from a small seed.
package forgetest

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ferry-import/ferry/forge"
)

// Source is the source every generated object comes from.
var Source = forge.SourceID{Type: "github", Host: "github.example.com"}

// T0 is the generated content's epoch.
var T0 = time.Date(2024, 3, 1, 9, 30, 0, 123000000, time.UTC)

func src(kind string, id int) forge.SourceID {
	s := Source
	s.ID = kind + "-" + strconv.Itoa(id)
	return s
}

// User is the i-th source user (ids and logins stable across calls).
func User(i int) forge.SourceUser {
	return forge.SourceUser{SourceID: forge.SourceID{ID: strconv.Itoa(1000 + i)}, Login: fmt.Sprintf("octo%d", i),
		Name: fmt.Sprintf("Octo Cat %d", i), Email: fmt.Sprintf("octo%d@users.example.com", i)}
}

// Issues returns n issues (iids from first) with notes comments each, as
// an importer's page would carry them: issues first, then their notes.
// Authors rotate through users source users.
func Issues(first, n, notes, users int) []forge.Object {
	out := make([]forge.Object, 0, n*(1+notes))
	for i := first; i < first+n; i++ {
		out = append(out, forge.Issue{SourceID: src("issue", i), IID: int64(i), Title: fmt.Sprintf("Issue %d", i),
			Description: fmt.Sprintf("Body of issue %d", i), State: forge.StateOpened, Author: User(i % users),
			Assignees: []forge.SourceUser{User((i + 1) % users)}, Labels: []string{"bug"},
			CreatedAt: T0.Add(time.Duration(i) * time.Minute), UpdatedAt: T0.Add(time.Duration(i) * time.Minute)})
	}
	for i := first; i < first+n; i++ {
		for j := 0; j < notes; j++ {
			out = append(out, forge.Note{SourceID: src("note", i*100+j), On: forge.Noteable{Type: forge.OnIssue, IID: int64(i)},
				Body: fmt.Sprintf("Comment %d on issue %d", j, i), Author: User((i + j) % users),
				CreatedAt: T0.Add(time.Duration(i)*time.Minute + time.Duration(j)*time.Second),
				UpdatedAt: T0.Add(time.Duration(i)*time.Minute + time.Duration(j)*time.Second)})
		}
	}
	return out
}
