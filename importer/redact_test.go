package importer

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestSafeMessage(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef01234567" // an old-style GHE token: no prefix to spot
	cases := []string{
		"GET https://ghe.example.com/api/v3/x?access_token=" + url.QueryEscape(secret) + ": 401",
		"clone https://x-access-token:" + secret + "@ghe.example.com/o/r.git failed",
		"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(secret)),
		"token " + secret + " rejected",
		"private_token=glpat-abcdefghijklmnop1234 in query",
		"ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked",
	}
	for _, c := range cases {
		got := safeMessage(errors.New(c), secret)
		if strings.Contains(got, secret) || strings.Contains(got, "glpat-abcdefgh") || strings.Contains(got, "ghp_abcdef") ||
			strings.Contains(got, base64.StdEncoding.EncodeToString([]byte(secret))) {
			t.Errorf("%q → %q still carries a credential", c, got)
		}
		if !strings.Contains(got, "[REDACTED]") {
			t.Errorf("%q → %q: nothing redacted", c, got)
		}
	}
	if got := safeMessage(errors.New(strings.Repeat("x", 5000))); len(got) > 1010 {
		t.Errorf("message not capped: %d bytes", len(got))
	}
	if got := safeMessage(errors.New("plain failure, nothing secret"), "abc"); got != "plain failure, nothing secret" {
		t.Errorf("ordinary text changed: %q", got)
	}
}
