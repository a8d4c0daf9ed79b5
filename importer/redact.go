package importer

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
)

// secretPatterns match credential-looking text: forge token formats,
// credentials in URLs and query strings, Authorization values.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9_]{8,}|github_pat_[A-Za-z0-9_]{8,}|glpat-[A-Za-z0-9_\-]{8,})`),
	regexp.MustCompile(`(?i)((?:private_token|access_token|token|password)=)[^&\s"']+`),
	regexp.MustCompile(`(?i)(authorization:\s*(?:basic|bearer|token)\s+)\S+`),
	regexp.MustCompile(`(://)[^/@\s:]+(:[^/@\s]*)?@`),
}

// redact replaces credential-looking text with [REDACTED].
func redact(s string) string {
	for i, re := range secretPatterns {
		switch i {
		case 0:
			s = re.ReplaceAllString(s, "[REDACTED]")
		case 3:
			s = re.ReplaceAllString(s, "${1}[REDACTED]@")
		default:
			s = re.ReplaceAllString(s, "${1}[REDACTED]")
		}
	}
	return s
}

// scrub removes each secret, and its URL-escaped and base64 forms, from s.
// Very short secrets are left alone: masking them would mangle ordinary
// text and they are not credentials anyway.
func scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) < 6 {
			continue
		}
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec),
			base64.StdEncoding.EncodeToString([]byte(sec)), base64.RawURLEncoding.EncodeToString([]byte(sec))} {
			s = strings.ReplaceAll(s, form, "[REDACTED]")
		}
	}
	return s
}
