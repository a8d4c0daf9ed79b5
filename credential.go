package ferry

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strconv"
	"strings"
)

// GitHubApp is a GitHub App installation as a source credential (a ferry
// extension of POST /import/github): the app's id and private key mint
// installation tokens, which GitHub grants a larger rate-limit budget than
// a person's token. It travels and is sealed as one string (Encode), so
// everything that carries a source credential carries it unchanged.
type GitHubApp struct {
	AppID          int64  `json:"app_id"`
	InstallationID int64  `json:"installation_id"`
	PrivateKey     string `json:"private_key"` // PEM; never log it
}

// gitHubAppPrefix marks an encoded GitHubApp among source credentials: no
// token GitHub issues starts so.
const gitHubAppPrefix = "github-app:"

// Encode is the credential string of the installation.
func (a GitHubApp) Encode() string {
	b, _ := json.Marshal(a) // a struct of ints and a string cannot fail
	return gitHubAppPrefix + string(b)
}

// Validate checks what an import request gave: ids and an RSA private
// key in PEM (PKCS#1, as GitHub hands them out, or PKCS#8). The error
// names the parameter at fault, never its value.
func (a GitHubApp) Validate() error {
	switch {
	case a.AppID <= 0:
		return errors.New("github_app_id is invalid")
	case a.InstallationID <= 0:
		return errors.New("github_app_installation_id is invalid")
	}
	blk, _ := pem.Decode([]byte(a.PrivateKey))
	if blk == nil {
		return errors.New("github_app_private_key is invalid: not a PEM block")
	}
	if _, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if _, ok := k.(*rsa.PrivateKey); err != nil || !ok {
		return errors.New("github_app_private_key is invalid: not an RSA private key")
	}
	return nil
}

// ParseGitHubApp reads a credential string: ok is false for anything that
// is not an encoded GitHubApp (a token), and err reports an encoded one
// that does not decode.
func ParseGitHubApp(credential string) (app GitHubApp, ok bool, err error) {
	raw, ok := strings.CutPrefix(credential, gitHubAppPrefix)
	if !ok {
		return GitHubApp{}, false, nil
	}
	if err := json.Unmarshal([]byte(raw), &app); err != nil {
		return GitHubApp{}, true, errors.New("GitHub App credential does not decode")
	}
	return app, true, nil
}

// credentialSetPrefix marks several source credentials carried as one
// string (JoinCredentials): no token a forge issues starts so, nor does an
// encoded GitHubApp.
const credentialSetPrefix = "credential-set:"

// MaxCredentials bounds the credentials one import may be given.
const MaxCredentials = 16

// JoinCredentials carries several credentials of one source (tokens of
// different accounts, App installations) as one string, so that
// everything that seals, stores and opens a source credential carries a
// set unchanged. One credential is itself.
func JoinCredentials(creds []string) string {
	if len(creds) == 1 {
		return creds[0]
	}
	b, _ := json.Marshal(creds) // strings cannot fail
	return credentialSetPrefix + string(b)
}

// SplitCredentials is JoinCredentials undone: a plain credential is a set
// of one. A set that does not decode is an error naming no value.
func SplitCredentials(credential string) ([]string, error) {
	raw, ok := strings.CutPrefix(credential, credentialSetPrefix)
	if !ok {
		return []string{credential}, nil
	}
	var creds []string
	if err := json.Unmarshal([]byte(raw), &creds); err != nil || len(creds) == 0 || len(creds) > MaxCredentials {
		return nil, errors.New("credential set does not decode")
	}
	for _, c := range creds {
		if c == "" || strings.HasPrefix(c, credentialSetPrefix) {
			return nil, errors.New("credential set does not decode")
		}
	}
	return creds, nil
}

// CredentialKind names a credential without showing any of it: "github_app
// 12/345" (app and installation ids are not secret) or
// "personal_access_token".
func CredentialKind(credential string) string {
	if app, ok, err := ParseGitHubApp(credential); ok && err == nil {
		return "github_app " + strconv.FormatInt(app.AppID, 10) + "/" + strconv.FormatInt(app.InstallationID, 10)
	}
	return "personal_access_token"
}
