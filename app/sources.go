package app

import (
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/github"
)

// sources are the forges ferry imports from.
func sources() []importer.Source {
	return []importer.Source{github.New()}
}
