package scenario

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// AttachmentPrefix stands in bodies for the URL prefix of the forge's
// attachment store; each forge replaces it with its own absolute prefix,
// because the scenario does not know where it is served.
const AttachmentPrefix = "@FAKEFORGE_ATTACHMENTS@"

var vocabulary = [...]string{
	"import", "forge", "branch", "merge", "review", "commit", "pipeline", "label",
	"milestone", "release", "token", "cache", "queue", "worker", "retry", "cursor",
	"page", "mirror", "archive", "latency", "budget", "schema", "upsert", "bundle",
}

var unicodeWords = [...]string{"naïve", "façade", "Ærøskøbing", "日本語", "Привет", "🚀", "café", "Ελληνικά", "🙂"}

func (s *Scenario) words(kind uint64, n, count int) string {
	var b strings.Builder
	for k := range count {
		if k > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(vocabulary[s.pick(kind, n, 100+k, len(vocabulary))])
	}
	return b.String()
}

// text builds a body of about TextSize bytes for object n of kind; ref is
// the item it belongs to, used for cross references.
func (s *Scenario) text(kind uint64, n, ref int) string {
	c := s.cfg
	var b strings.Builder
	if c.Markdown {
		fmt.Fprintf(&b, "## Summary %d\n\n", n)
	}
	for k := 0; b.Len() < c.TextSize; k++ {
		b.WriteString(vocabulary[s.pick(kind, n, k, len(vocabulary))])
		switch {
		case c.Unicode && k%9 == 4:
			b.WriteString(" " + unicodeWords[s.pick(kind, n, 1000+k, len(unicodeWords))])
		case k%12 == 11:
			b.WriteString(".\n")
			continue
		}
		b.WriteByte(' ')
	}
	if c.Markdown {
		other := s.User(1 + s.pick(kind, n, 7, c.Users))
		fmt.Fprintf(&b, "\n\n- [x] cc @%s\n- [ ] see #%d\n\n```go\nfmt.Println(%d)\n```\n", other.Login, max(1, ref-1), n)
	}
	if c.Attachments && n%4 == 0 {
		fmt.Fprintf(&b, "\n![screenshot](%s/%s)\n", AttachmentPrefix, AttachmentName(kind, n))
	}
	return b.String()
}

// AttachmentName names the attachment of object n of a kind.
func AttachmentName(kind uint64, n int) string { return fmt.Sprintf("k%d-%d.png", kind, n) }

// Attachment returns the bytes of a named attachment. Any name that
// AttachmentName could have produced is served; its content depends only on
// the seed and the name.
func (s *Scenario) Attachment(name string) ([]byte, bool) {
	var kind uint64
	var n int
	if _, err := fmt.Sscanf(name, "k%d-%d.png", &kind, &n); err != nil || AttachmentName(kind, n) != name {
		return nil, false
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	// A PNG signature first, so content sniffers see an image.
	png := []byte("\x89PNG\r\n\x1a\n")
	return append(png, s.blob(kindAsset, int(h.Sum64()%1_000_000), 256)...), true
}
