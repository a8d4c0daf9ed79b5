// Package e2e holds end-to-end tests: a whole ferry on a loopback port
// importing from fakeforge, read back through the API with client-go and
// through git clone. It has no non-test code.
package e2e
