package diffpos

import (
	"reflect"
	"testing"

	"github.com/ferry-import/ferry/forge"
)

// TestLineCode checks LineCode against line codes GitLab itself computed,
// as its test suite states them with their paths (gitlabhq/gitlabhq):
// spec/support/helpers/repo_helpers.rb (sample_commit's line_code and
// del_line_code on line_code_path, sample_compare's changes) and
// spec/services/merge_requests/conflicts/resolve_service_spec.rb
// (sections of the conflict files).
func TestLineCode(t *testing.T) {
	for _, tt := range []struct {
		path     string
		old, new int64
		want     string
	}{
		{"files/ruby/popen.rb", 15, 14, "2f6fcd96b88b36ce98c38da085c795a27d92a3dd_15_14"},
		{"files/ruby/popen.rb", 13, 13, "2f6fcd96b88b36ce98c38da085c795a27d92a3dd_13_13"},
		{"files/ruby/popen.rb", 14, 14, "2f6fcd96b88b36ce98c38da085c795a27d92a3dd_14_14"},
		{"files/ruby/regex.rb", 9, 9, "6eb14e00385d2fb284765eb1cd8d420d33d63fc9_9_9"},
		{"files/ruby/regex.rb", 21, 21, "6eb14e00385d2fb284765eb1cd8d420d33d63fc9_21_21"},
		{".gitignore", 20, 20, "a5cc2925ca8258af241be7e5b0381edf30266302_20_20"},
		{".gitmodules", 4, 6, "7445606fbf8f3683cd42bdc54b05d7a0bc2dfc44_4_6"},
	} {
		if got := LineCode(tt.path, tt.old, tt.new); got != tt.want {
			t.Errorf("LineCode(%q, %d, %d) = %s, want %s", tt.path, tt.old, tt.new, got, tt.want)
		}
	}
}

// popenDiff is the diff of files/ruby/popen.rb in GitLab's test repository
// (commit 570e7b2, RepoHelpers#sample_commit), as GitLab's
// spec/lib/gitlab/diff/parser_spec.rb gives it to Gitlab::Diff::Parser.
const popenDiff = `--- a/files/ruby/popen.rb
+++ b/files/ruby/popen.rb
@@ -6,12 +6,18 @@ module Popen

   def popen(cmd, path=nil)
     unless cmd.is_a?(Array)
-      raise "System commands must be given as an array of strings"
+      raise RuntimeError, "System commands must be given as an array of strings"
     end

     path ||= Dir.pwd
-    vars = { "PWD" => path }
-    options = { chdir: path }
+
+    vars = {
+      "PWD" => path
+    }
+
+    options = {
+      chdir: path
+    }

     unless File.directory?(path)
       FileUtils.mkdir_p(path)
@@ -19,6 +25,7 @@ module Popen

     @cmd_output = ""
     @cmd_status = 0
+
     Open3.popen3(vars, *cmd, options) do |stdin, stdout, stderr, wait_thr|
       @cmd_output << stdout.read
       @cmd_output << stderr.read`

// TestParseAsGitLab numbers GitLab's own parser fixture and finds in it the
// lines whose numbers and line codes GitLab's specs state: parser_spec.rb
// (old_pos/new_pos of a removal, an addition and the last line; 30 lines
// counting its two "match" header lines), repo_helpers.rb (sample_commit's
// line_code and del_line_code), diff_helper_spec.rb (the first line's code)
// and spec/features/merge_request/batch_comments_spec.rb (the new-side and
// old-side lines of the parallel diff: _10_9 and _9_9).
func TestParseAsGitLab(t *testing.T) {
	const path = "files/ruby/popen.rb"
	lines := Parse(popenDiff)
	if len(lines) != 28 {
		t.Fatalf("%d lines, want GitLab's 30 less its 2 header lines", len(lines))
	}
	if got, want := lines[0].Code(path), "2f6fcd96b88b36ce98c38da085c795a27d92a3dd_6_6"; got != want {
		t.Errorf("first line %s, want %s", got, want)
	}
	if got, want := lines[len(lines)-1], (Line{Context, 24, 31}); got != want {
		t.Errorf("last line %+v, want %+v", got, want)
	}
	for _, tt := range []struct {
		side Side
		n    int64
		want Line
		code string
	}{
		{Old, 14, Line{Removed, 14, 13}, "2f6fcd96b88b36ce98c38da085c795a27d92a3dd_14_13"},
		{New, 18, Line{Added, 15, 18}, "2f6fcd96b88b36ce98c38da085c795a27d92a3dd_15_18"},
		{New, 14, Line{Added, 15, 14}, "2f6fcd96b88b36ce98c38da085c795a27d92a3dd_15_14"},
		{Old, 13, Line{Removed, 13, 13}, "2f6fcd96b88b36ce98c38da085c795a27d92a3dd_13_13"},
		{New, 9, Line{Added, 10, 9}, "2f6fcd96b88b36ce98c38da085c795a27d92a3dd_10_9"},
		{Old, 9, Line{Removed, 9, 9}, "2f6fcd96b88b36ce98c38da085c795a27d92a3dd_9_9"},
		{New, 22, Line{Context, 16, 22}, "2f6fcd96b88b36ce98c38da085c795a27d92a3dd_16_22"},
		{Old, 16, Line{Context, 16, 22}, "2f6fcd96b88b36ce98c38da085c795a27d92a3dd_16_22"},
	} {
		got, ok := Find(lines, tt.side, tt.n)
		if !ok || got != tt.want || got.Code(path) != tt.code {
			t.Errorf("Find(%v, %d) = %+v %s, %v; want %+v %s", tt.side, tt.n, got, got.Code(path), ok, tt.want, tt.code)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name, hunk string
		want       []Line
	}{
		{"two hunks, no newline marker, blank context", "@@ -3,2 +3,3 @@\n a\n-b\n+c\n+d\n\\ No newline at end of file\n\n@@ -20 +21 @@\n x",
			[]Line{{Context, 3, 3}, {Removed, 4, 4}, {Added, 5, 4}, {Added, 5, 5}, {Context, 5, 6}, {Context, 20, 21}}},
		{"new file", "@@ -0,0 +1,2 @@\n+a\n+b", []Line{{Added, 0, 1}, {Added, 0, 2}}},
		{"CRLF", "@@ -1 +1 @@\r\n-a\r\n+b\r\n", []Line{{Removed, 1, 1}, {Added, 2, 1}, {Context, 2, 2}}},
		{"stops at what it does not know", "@@ -1 +1 @@\n x\n?junk\n y", []Line{{Context, 1, 1}}},
		{"empty", "", nil},
		{"no header", "no header\n+x", nil},
		{"bad numbers", "@@ -a +b @@\n+x", nil},
		{"unclosed header", "@@ -1 +1\n+x", nil},
	} {
		if got := Parse(tt.hunk); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Parse = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestLinePosition(t *testing.T) {
	const path = "a/b.go"
	for _, tt := range []struct {
		l    Line
		want forge.LinePosition
	}{
		{Line{Context, 10, 10}, forge.LinePosition{LineCode: LineCode(path, 10, 10), OldLine: 10, NewLine: 10}},
		{Line{Added, 12, 12}, forge.LinePosition{LineCode: LineCode(path, 12, 12), Type: "new", NewLine: 12}},
		{Line{Removed, 11, 11}, forge.LinePosition{LineCode: LineCode(path, 11, 11), Type: "old", OldLine: 11}},
		{Only(New, 40), forge.LinePosition{LineCode: LineCode(path, 0, 40), Type: "new", NewLine: 40}},
		{Only(Old, 7), forge.LinePosition{LineCode: LineCode(path, 7, 0), Type: "old", OldLine: 7}},
	} {
		if got := tt.l.Position(path); got != tt.want {
			t.Errorf("%+v: Position = %+v, want %+v", tt.l, got, tt.want)
		}
	}
}

func TestLocate(t *testing.T) {
	lines := Parse("@@ -10,4 +10,5 @@\n c10\n-o11\n+n11\n+n12\n c12")
	for _, tt := range []struct {
		side Side
		n    int64
		want Line
	}{
		{New, 13, Line{Context, 12, 13}},
		{Old, 12, Line{Context, 12, 13}},
		{Old, 11, Line{Removed, 11, 11}},
		{New, 11, Line{Added, 12, 11}},
		{New, 40, Line{Added, 0, 40}}, // not in the hunk: its number alone
		{Old, 40, Line{Removed, 40, 0}},
	} {
		if got := Locate(lines, tt.side, tt.n); got != tt.want {
			t.Errorf("Locate(%v, %d) = %+v, want %+v", tt.side, tt.n, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("@@ -0,0 +1,3 @@\n+a\n+b\n+c")
	f.Add("@@ -10,4 +10,5 @@ func\n x\n-y\n+z")
	f.Add(popenDiff)
	f.Fuzz(func(t *testing.T, h string) {
		for _, l := range Parse(h) {
			if l.Old < 0 || l.New < 0 || (l.Kind == Added && l.OldLine() != 0) || (l.Kind == Removed && l.NewLine() != 0) {
				t.Fatalf("Parse(%q): line %+v", h, l)
			}
			if l.Kind != Added {
				if got, ok := Find(Parse(h), Old, l.Old); !ok || got.OldLine() != l.Old {
					t.Fatalf("Parse(%q): old line %d not found (%+v)", h, l.Old, got)
				}
			}
		}
	})
}
