package gitlab

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"slices"
	"strings"
)

// uploadsRelation is the project's uploads as GitLab's direct transfer
// exports them (BulkImports::UploadsExportService): a file relation, one
// gzipped tar whose entries are <secret>/<filename>, batched like the tree
// relations (Project has_many uploads). Its records are the attachments the
// project's exported bodies link, sorted by file name.
var uploadsRelation = relation{name: "uploads", batchable: true, file: "uploads.tar.gz",
	records: func(s *Server, pt portable) (int, func(int) any) {
		names := s.projectUploads(pt.p)
		return len(names), func(i int) any { return names[i-1] }
	},
	write: writeUploads}

// uploadEnds are the characters that end a link's file name in Markdown
// and HTML bodies.
const uploadEnds = ")] \t\r\n\"'<>"

// projectUploads is the project's uploads: the distinct attachment names
// linked as /uploads/<secret>/<name> by every body its export serves
// (milestones, issues, merge requests, their notes, releases), sorted.
// The export records are built and scanned one at a time, once per
// project, and only the names are kept — copies, since a substring would
// keep its whole body alive (at the large scenario's 86,000 uploads that
// was most of the benchmark's peak memory).
func (s *Server) projectUploads(p proj) []string {
	s.mu.Lock()
	names, ok := s.exState().uploads[p.ID]
	s.mu.Unlock()
	if ok {
		return names
	}
	prefix := "/uploads/" + uploadSecret(p) + "/"
	scan := func(text string) {
		for {
			i := strings.Index(text, prefix)
			if i < 0 {
				return
			}
			text = text[i+len(prefix):]
			name := text
			if end := strings.IndexAny(text, uploadEnds); end >= 0 {
				name = text[:end]
			}
			if _, ok := s.sc.Attachment(name); ok {
				names = append(names, strings.Clone(name))
			}
		}
	}
	notes := func(ns []exNote) {
		for _, n := range ns {
			scan(n.Note)
		}
	}
	c := s.sc.Config()
	for i := 1; i <= c.Milestones; i++ {
		scan(s.exMilestone(p, i).Description)
	}
	for j := 1; j <= c.Issues; j++ {
		x := s.exIssue(p, j)
		scan(x.Description)
		notes(x.Notes)
	}
	for j := 1; j <= c.PullRequests; j++ {
		x := s.exMergeRequest(p, j)
		scan(x.Description)
		notes(x.Notes)
	}
	for i := 1; i <= c.Releases; i++ {
		scan(s.exRelease(p, i).Description)
	}
	slices.Sort(names)
	names = slices.Clip(slices.Compact(names))
	s.mu.Lock()
	s.exState().uploads[p.ID] = names
	s.mu.Unlock()
	return names
}

// writeUploads writes uploads lo…hi of the project as gzip(tar): a
// directory entry for each secret (once), then each file under it, by its
// raw name, with the bytes the upload endpoints serve. Entries carry no
// time, so the bytes, and the length, are stable.
func writeUploads(s *Server, w io.Writer, pt portable, rel relation, lo, hi int) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	secret := uploadSecret(pt.p)
	_, at := rel.records(s, pt)
	for i := lo; i <= hi; i++ {
		name := at(i).(string)
		b, ok := s.sc.Attachment(name)
		if !ok {
			return fmt.Errorf("upload %d: no attachment %q", i, name)
		}
		if i == lo { // one secret a project: one directory
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: secret + "/", Mode: 0o755}); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: secret + "/" + name, Mode: 0o644, Size: int64(len(b))}); err != nil {
			return fmt.Errorf("upload %s: %w", name, err)
		}
		if _, err := tw.Write(b); err != nil {
			return fmt.Errorf("upload %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}
