package github

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// TestNodeDatabaseID: the database id inside GitHub's node ids, next-gen
// and legacy (GitHub's published examples), and an error for anything
// else, which sends the item through REST.
func TestNodeDatabaseID(t *testing.T) {
	event, err := msgpack.Marshal([]any{0, 2325298, 1500000000, int64(5_000_000_123)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id   string
		want int64
	}{
		{"U_kgDOAAhEkg", 541842},
		{"R_kgDOACN7Mg", 2325298},
		{"MDEwOlJlcG9zaXRvcnkyMzI1Mjk4", 2325298},                            // 010:Repository2325298
		{"MDEyOkxhYmVsZWRFdmVudDEyMzQ1Ng==", 123456},                         // 012:LabeledEvent123456
		{"MDEyOkxhYmVsZWRFdmVudDEyMzQ1Ng", 123456},                           // unpadded
		{"LE_" + base64.RawURLEncoding.EncodeToString(event), 5_000_000_123}, // [0, repo, issue, event]
	} {
		got, err := nodeDatabaseID(tt.id)
		if err != nil || got != tt.want {
			t.Errorf("nodeDatabaseID(%q) = %d, %v; want %d", tt.id, got, err, tt.want)
		}
	}
	bad, _ := msgpack.Marshal([]any{1, 42})
	str, _ := msgpack.Marshal([]any{0, "x"})
	one, _ := msgpack.Marshal([]any{0})
	for _, id := range []string{"", "garbage", "U_", "_kgDOAAhEkg", "U_!!!", "U_kgDO",
		"X_" + base64.RawURLEncoding.EncodeToString(bad), "X_" + base64.RawURLEncoding.EncodeToString(str),
		"X_" + base64.RawURLEncoding.EncodeToString(one),
		base64.StdEncoding.EncodeToString([]byte("012:LabeledEvent")), base64.StdEncoding.EncodeToString([]byte("3:abc12")),
		base64.StdEncoding.EncodeToString([]byte("LabeledEvent12"))} {
		if got, err := nodeDatabaseID(id); !errors.Is(err, errNodeID) {
			t.Errorf("nodeDatabaseID(%q) = %d, %v; want errNodeID", id, got, err)
		}
	}
}
