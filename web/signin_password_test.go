package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
)

// passwordSignIn posts the password form from a fresh sign-in page.
func (b *browser) passwordSignIn(login, pw string) (*http.Response, string) {
	b.t.Helper()
	_, page := b.do("GET", "/users/sign_in", nil)
	return b.do("POST", "/users/sign_in", url.Values{"authenticity_token": {csrf(b.t, page)}, "login": {login}, "password": {pw}})
}

// TestPasswordSignIn: a password set through PUT /users/:id (as an admin's
// script would) signs its user in by username or e-mail; wrong passwords
// and unknown logins get one message that echoes no password; repeated
// failures lock the login; changing the password ends its sessions.
func TestPasswordSignIn(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		alice, _ := user(t, in, "alice")
		user(t, in, "bob") // no password: token sign-in only
		root := in.Client(t, in.RootToken)
		const pw = "correct horse battery"
		if _, _, err := root.Users.ModifyUser(alice.ID, &gitlab.ModifyUserOptions{Password: gitlab.Ptr(pw)}); err != nil {
			t.Fatal(err)
		}

		for _, c := range []struct {
			name, login, pw string
			status          int
		}{
			{"wrong password", "alice", "incorrect horse", http.StatusUnauthorized},
			{"unknown login", "carol", pw, http.StatusUnauthorized},
			{"user without a password", "bob", pw, http.StatusUnauthorized},
			{"empty password", "alice", "", http.StatusUnauthorized},
			{"username", "alice", pw, http.StatusSeeOther},
			{"username in another case", "ALICE", pw, http.StatusSeeOther},
			{"e-mail", "alice@example.com", pw, http.StatusSeeOther},
		} {
			b := newBrowser(t, in)
			res, page := b.passwordSignIn(c.login, c.pw)
			if res.StatusCode != c.status {
				t.Errorf("%s: %d, want %d", c.name, res.StatusCode, c.status)
				continue
			}
			if c.status != http.StatusSeeOther {
				if !strings.Contains(page, "Invalid login or password.") || (c.pw != "" && strings.Contains(page, c.pw)) {
					t.Errorf("%s: page %s", c.name, page)
				}
				continue
			}
			if _, page := b.do("GET", "/", nil); !strings.Contains(page, "Signed in as <strong>alice</strong>") {
				t.Errorf("%s: not signed in after the redirect", c.name)
			}
		}

		// A password session can act (cancel, start) as a web session does.
		b := newBrowser(t, in)
		if res, _ := b.passwordSignIn("alice", pw); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", res.StatusCode)
		}
		// A new password ends the sessions the old one opened.
		if _, _, err := root.Users.ModifyUser(alice.ID, &gitlab.ModifyUserOptions{Password: gitlab.Ptr("a new password")}); err != nil {
			t.Fatal(err)
		}
		if res, _ := b.do("GET", "/-/imports", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/users/sign_in" {
			t.Errorf("session of the old password: %d %s", res.StatusCode, res.Header.Get("Location"))
		}

		// Ten failures lock the login, even against the right password.
		for i := 0; i < 10; i++ {
			newBrowser(t, in).passwordSignIn("alice", "guess")
		}
		res, page := newBrowser(t, in).passwordSignIn("alice", "a new password")
		if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, "Too many failed sign-in attempts") {
			t.Errorf("after ten failures: %d", res.StatusCode)
		}
	})
}
