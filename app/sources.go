package app

import "github.com/ferry-import/ferry/importer"

// sources are the forges ferry imports from.
func sources() []importer.Source {
	return nil
}
