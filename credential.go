package ferry

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
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
