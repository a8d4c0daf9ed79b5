package github

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
)

// GitHub's GraphQL timeline events carry no databaseId, and the REST API
// names an event by its numeric id: the importer keys the event's rows by
// that id, so an event read through GraphQL must come with the very id
// REST gives, or it would land twice. The id is inside the node id, in
// either of GitHub's two formats:
//
//   - next-gen ("U_kgDOAAhEkg"): a type prefix, "_", and the base64url
//     (unpadded) MessagePack of an array [0, …ids] whose last element is
//     the database id (an event's array also holds the ids of what it
//     belongs to);
//   - legacy ("MDEwOlJlcG9zaXRvcnkyMzI1Mjk4"): the base64 of
//     "NNN:TypeName<id>", NNN the length of the type name.
//
// https://github.blog/changelog/2021-02-10-new-global-id-format-coming-to-graphql/

// errNodeID is an id in neither format: the item goes through REST.
var errNodeID = errors.New("not a GitHub node id with a database id")

// nodeDatabaseID is the database id a GraphQL node id carries.
func nodeDatabaseID(id string) (int64, error) {
	if prefix, body, ok := strings.Cut(id, "_"); ok && prefix != "" && body != "" {
		return nextGenID(body)
	}
	return legacyID(id)
}

func nextGenID(body string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(body, "="))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errNodeID, err)
	}
	var parts []any
	if err := msgpack.Unmarshal(b, &parts); err != nil {
		return 0, fmt.Errorf("%w: %v", errNodeID, err)
	}
	if len(parts) < 2 {
		return 0, fmt.Errorf("%w: %d parts", errNodeID, len(parts))
	}
	if v, ok := msgpackInt(parts[0]); !ok || v != 0 {
		return 0, fmt.Errorf("%w: version %v", errNodeID, parts[0])
	}
	id, ok := msgpackInt(parts[len(parts)-1])
	if !ok || id <= 0 {
		return 0, fmt.Errorf("%w: last part %v", errNodeID, parts[len(parts)-1])
	}
	return id, nil
}

// msgpackInt is an integer MessagePack decoded into any, of any width.
func msgpackInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n > 1<<63-1 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

func legacyID(id string) (int64, error) {
	b, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(id, "=")); err != nil {
			return 0, fmt.Errorf("%w: %v", errNodeID, err)
		}
	}
	length, rest, ok := strings.Cut(string(b), ":")
	n, err := strconv.Atoi(length)
	if !ok || err != nil || n <= 0 || n >= len(rest) {
		return 0, fmt.Errorf("%w: %q", errNodeID, b)
	}
	typ, num := rest[:n], rest[n:]
	if typ[0] < 'A' || typ[0] > 'Z' {
		return 0, fmt.Errorf("%w: %q", errNodeID, b)
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%w: %q", errNodeID, b)
	}
	return v, nil
}
