package importer

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/sourcehttp"
)

// TestErrorClass names failures by the error's type: a validation error
// stays one when a source marks it permanent, wrapped or not.
func TestErrorClass(t *testing.T) {
	invalid := ferry.Errorf(ferry.EINVALID, "label id is not a number")
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"validation", invalid, "ValidationError"},
		{"permanent validation", &Permanent{Err: invalid}, "ValidationError"},
		{"wrapped permanent validation", fmt.Errorf("fetch labels page 1: %w", &Permanent{Err: invalid}), "ValidationError"},
		{"store refusal", ferry.Errorf(ferry.ECONFLICT, "taken"), "ValidationError"},
		{"permanent", &Permanent{Err: errors.New("404 Not Found")}, "PermanentError"},
		{"permanent status", &Permanent{Err: &sourcehttp.StatusError{Status: 404, Err: errors.New("gone")}}, "PermanentError"},
		{"blocked", fmt.Errorf("dial: %w", netguard.ErrBlocked), "PermanentError"},
		{"network", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), "NetworkError"},
	} {
		if got := errorClass(tt.err); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
