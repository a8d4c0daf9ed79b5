package store_test

import (
	"context"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestUserForSignIn: a sign-in finds its user by username or e-mail in
// any case, with the hash last stored; nobody else matches.
func TestUserForSignIn(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := &ferry.User{Username: "Alice", Name: "Alice", Email: "alice@example.com"}
		other := &ferry.User{Username: "bob", Name: "Bob"}
		mustWrite(t, s, func(tx *store.Tx) error {
			for _, x := range []*ferry.User{u, other} {
				if err := tx.CreateUser(ctx, x); err != nil {
					return err
				}
			}
			return tx.SetUserPassword(ctx, u.ID, "hash-1")
		})
		mustWrite(t, s, func(tx *store.Tx) error { return tx.SetUserPassword(ctx, u.ID, "hash-2") })
		_ = s.Read(ctx, func(tx *store.Tx) error {
			for _, c := range []struct {
				login string
				id    int64
				hash  string
			}{{"alice", u.ID, "hash-2"}, {"ALICE@example.COM", u.ID, "hash-2"}, {"bob", other.ID, ""}, {"", 0, ""}, {"carol", 0, ""}} {
				got, hash, err := tx.UserForSignIn(ctx, c.login)
				switch {
				case c.id == 0 && ferry.ErrorCode(err) != ferry.ENOTFOUND:
					t.Errorf("%q: %v, want not found", c.login, err)
				case c.id != 0 && (err != nil || got.ID != c.id || hash != c.hash):
					t.Errorf("%q: user %v hash %q err %v, want user %d hash %q", c.login, got, hash, err, c.id, c.hash)
				}
			}
			if err := tx.SetUserPassword(ctx, 9999, "x"); ferry.ErrorCode(err) != ferry.ENOTFOUND {
				t.Errorf("password of a missing user: %v", err)
			}
			return nil
		})
	})
}
