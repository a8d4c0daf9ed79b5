package main

import (
	"bytes"
	"context"
	"testing"
)

// TestHelp: -help and --help print the usage and succeed; an unknown flag
// fails.
func TestHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		ok   bool
	}{{[]string{"-help"}, true}, {[]string{"--help"}, true}, {[]string{"-h"}, true}, {[]string{"-nope"}, false}} {
		var out bytes.Buffer
		err := run(context.Background(), c.args, &out)
		if (err == nil) != c.ok {
			t.Errorf("%v: %v, want ok=%v", c.args, err, c.ok)
		}
	}
}
