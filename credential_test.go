package ferry

import (
	"reflect"
	"strings"
	"testing"
)

func TestCredentialSets(t *testing.T) {
	app := GitHubApp{AppID: 12, InstallationID: 345, PrivateKey: "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----\n"}.Encode()
	for _, set := range [][]string{{"ghp_one"}, {"ghp_one", "ghp_two"}, {app, "ghp_two"}} {
		joined := JoinCredentials(set)
		if len(set) == 1 && joined != set[0] {
			t.Errorf("a set of one is %q, want the credential itself", joined)
		}
		got, err := SplitCredentials(joined)
		if err != nil || !reflect.DeepEqual(got, set) {
			t.Errorf("split(join(%q)) = %q, %v", set, got, err)
		}
	}
	for _, bad := range []string{credentialSetPrefix, credentialSetPrefix + "[]", credentialSetPrefix + `[""]`, credentialSetPrefix + `{"a":1}`,
		credentialSetPrefix + `["` + strings.Repeat(`x","`, MaxCredentials) + `x"]`, credentialSetPrefix + `["credential-set:[\"x\"]"]`} {
		if _, err := SplitCredentials(bad); err == nil || strings.Contains(err.Error(), "x") {
			t.Errorf("split(%.40q): %v, want an error naming no value", bad, err)
		}
	}
	if k := CredentialKind(app); k != "github_app 12/345" {
		t.Errorf("kind of an app: %q", k)
	}
	if k := CredentialKind("ghp_secret"); k != "personal_access_token" || strings.Contains(k, "secret") {
		t.Errorf("kind of a token: %q", k)
	}
}
