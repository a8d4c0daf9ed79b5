package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// groupFixture is a top-level group g, its subgroup g/sub (the migrated
// group) with a project g/sub/p, and real users by name.
type groupFixture struct {
	top, sub *ferry.Namespace
	proj     *ferry.Project
	users    map[string]*ferry.User
}

func newGroupFixture(t *testing.T, s *store.Store, names ...string) *groupFixture {
	t.Helper()
	ctx := context.Background()
	f := &groupFixture{users: map[string]*ferry.User{},
		top:  &ferry.Namespace{Kind: ferry.KindGroup, Name: "g", Path: "g", Visibility: ferry.Private},
		sub:  &ferry.Namespace{Kind: ferry.KindGroup, Name: "sub", Path: "sub", Visibility: ferry.Private},
		proj: &ferry.Project{Name: "p", Path: "p", Visibility: ferry.Private}}
	mustWrite(t, s, func(tx *store.Tx) error {
		for _, n := range names {
			u := &ferry.User{Username: n, Name: n, Email: n + "@example.com"}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			f.users[n] = u
		}
		if err := tx.CreateNamespace(ctx, f.top); err != nil {
			return err
		}
		f.sub.ParentID = &f.top.ID
		if err := tx.CreateNamespace(ctx, f.sub); err != nil {
			return err
		}
		f.proj.NamespaceID, f.proj.CreatorID = f.sub.ID, f.users[names[0]].ID
		return tx.CreateProject(ctx, f.proj)
	})
	return f
}

func gsid(id string) forge.SourceID {
	return forge.SourceID{Type: "gitlab", Host: "gitlab.example.com", ID: id}
}

// groupLevel is a user's direct role on a group, 0 for none.
func groupLevel(t *testing.T, s *store.Store, groupID, userID int64) int {
	t.Helper()
	var l int
	err := s.DB().QueryRow(`SELECT access_level FROM members WHERE source_kind = 'namespace' AND source_id = $1 AND user_id = $2`,
		groupID, userID).Scan(&l)
	if err != nil {
		return 0
	}
	return l
}

func rows(t *testing.T, s *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestGroupMembersFollowMapping: a migrated group's members are kept per
// source user and become ferry group members once mapped to a real user
// (e-mail, an e-mail learnt later, reassignment), never as placeholders,
// never changing a role someone has, directly or through a parent group.
func TestGroupMembersFollowMapping(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newGroupFixture(t, s, "ann", "bob", "cat", "dan", "eve", "fay", "gus")
		mustWrite(t, s, func(tx *store.Tx) error {
			// Ann owns the parent group; Cat is a Reporter of the subgroup.
			if err := tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: f.top.ID, UserID: f.users["ann"].ID,
				AccessLevel: ferry.OwnerAccess}); err != nil {
				return err
			}
			return tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: f.sub.ID, UserID: f.users["cat"].ID,
				AccessLevel: ferry.ReporterAccess})
		})
		member := func(id, email string, level ferry.AccessLevel) forge.Member {
			return forge.Member{SourceID: gsid("member/" + id), User: forge.SourceUser{SourceID: gsid(id), Login: id + "-src", Email: email},
				AccessLevel: level}
		}
		write := func(objs ...forge.Object) {
			t.Helper()
			mustWrite(t, s, func(tx *store.Tx) error { _, err := tx.WriteGroupContent(ctx, f.sub.ID, objs); return err })
		}
		write(
			member("ann", "ann@example.com", ferry.MaintainerAccess), // inherited Owner: not repeated
			member("cat", "cat@example.com", ferry.MaintainerAccess), // her own Reporter stays
			member("dan", "dan@example.com", ferry.DeveloperAccess),
			member("eve", "eve@example.com", ferry.OwnerAccess), // the source group's Owner owns the migrated one
			member("x", "", ferry.MaintainerAccess),             // a placeholder: no membership until reassigned
			member("y", "", ferry.GuestAccess),                  // e-mail learnt later, from a project's page
			member("gus", "gus@example.com", ferry.AccessLevel(0)),
		)
		// Written twice: the same rows, upserted.
		write(member("dan", "dan@example.com", ferry.DeveloperAccess))
		if n := rows(t, s, `SELECT COUNT(*) FROM imported_group_members WHERE namespace_id = $1`, f.sub.ID); n != 7 {
			t.Fatalf("%d imported group members, want 7", n)
		}
		for _, c := range []struct {
			user string
			want int
		}{{"ann", 0}, {"cat", int(ferry.ReporterAccess)}, {"dan", 30}, {"eve", 50}, {"bob", 0}, {"fay", 0}, {"gus", 0}} {
			if got := groupLevel(t, s, f.sub.ID, f.users[c.user].ID); got != c.want {
				t.Errorf("%s on the subgroup: %d, want %d", c.user, got, c.want)
			}
		}
		if n := rows(t, s, `SELECT COUNT(*) FROM members m JOIN users u ON u.id = m.user_id WHERE u.placeholder = TRUE`); n != 0 {
			t.Fatalf("%d placeholder memberships", n)
		}
		if got := groupLevel(t, s, f.top.ID, f.users["ann"].ID); got != 50 {
			t.Fatalf("ann on the parent: %d", got)
		}
		// The stranger is reassigned to Bob: Bob becomes a Maintainer.
		mustWrite(t, s, func(tx *store.Tx) error {
			var suID int64
			if err := s.DB().QueryRow(`SELECT id FROM source_users WHERE source_user_id = 'x'`).Scan(&suID); err != nil {
				return err
			}
			_, err := tx.ReassignSourceUser(ctx, f.top.ID, suID, f.users["bob"].ID, f.users["ann"].ID)
			return err
		})
		if got := groupLevel(t, s, f.sub.ID, f.users["bob"].ID); got != 40 {
			t.Fatalf("bob after reassignment: %d, want 40", got)
		}
		// y's e-mail arrives with a project's page: Fay is y, a Guest.
		mustWrite(t, s, func(tx *store.Tx) error {
			_, err := tx.WriteContent(ctx, f.proj.ID, []forge.Object{forge.SourceUser{SourceID: gsid("y"), Login: "y-src",
				Email: "fay@example.com"}})
			return err
		})
		if got := groupLevel(t, s, f.sub.ID, f.users["fay"].ID); got != 10 {
			t.Fatalf("fay after her e-mail: %d, want 10", got)
		}
		// The API's list shows them.
		err := s.Read(ctx, func(tx *store.Tx) error {
			ms, total, err := tx.ListMembers(ctx, store.MemberFilter{Kind: store.MemberOfNamespace, SourceID: f.sub.ID}, store.Page{Page: 1, PerPage: 20})
			if err != nil {
				return err
			}
			var names []string
			for _, m := range ms {
				names = append(names, m.User.Username)
			}
			if total != 5 || strings.Join(names, ",") != "bob,cat,dan,eve,fay" {
				t.Errorf("members %d %v", total, names)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestGroupBadges: badges of groups and projects upsert by source
// identity, a project lists its groups' badges too, invalid ones are
// refused, and deleting the group takes its badges and imported members.
func TestGroupBadges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newGroupFixture(t, s, "ann")
		badge := func(id, name string) forge.Badge {
			return forge.Badge{SourceID: gsid(id), Name: name, LinkURL: "https://ci.example.com/%{project_path}",
				ImageURL: "https://ci.example.com/%{project_path}/badges/%{default_branch}/pipeline.svg"}
		}
		mustWrite(t, s, func(tx *store.Tx) error {
			if _, err := tx.WriteGroupContent(ctx, f.top.ID, []forge.Object{badge("b1", "top")}); err != nil {
				return err
			}
			if _, err := tx.WriteGroupContent(ctx, f.sub.ID, []forge.Object{badge("b1", "pipeline"), badge("b2", "coverage")}); err != nil {
				return err
			}
			_, err := tx.WriteContent(ctx, f.proj.ID, []forge.Object{badge("b1", "project")})
			return err
		})
		// Rewritten with a new name: updated in place.
		mustWrite(t, s, func(tx *store.Tx) error {
			_, err := tx.WriteGroupContent(ctx, f.sub.ID, []forge.Object{badge("b2", "coverage report")})
			return err
		})
		if n := rows(t, s, `SELECT COUNT(*) FROM badges`); n != 4 {
			t.Fatalf("%d badges, want 4", n)
		}
		list := func(bf store.BadgeFilter) string {
			t.Helper()
			var out []string
			err := s.Read(ctx, func(tx *store.Tx) error {
				bs, total, err := tx.ListBadges(ctx, bf, store.Page{Page: 1, PerPage: 20})
				if total != len(bs) {
					t.Errorf("total %d, %d listed", total, len(bs))
				}
				for _, b := range bs {
					out = append(out, b.Kind()+":"+b.Name)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return strings.Join(out, ",")
		}
		for _, c := range []struct {
			name string
			f    store.BadgeFilter
			want string
		}{
			{"subgroup", store.BadgeFilter{GroupID: f.sub.ID}, "group:pipeline,group:coverage report"},
			{"top group", store.BadgeFilter{GroupID: f.top.ID}, "group:top"},
			{"project with its groups'", store.BadgeFilter{ProjectID: f.proj.ID}, "group:top,group:pipeline,group:coverage report,project:project"},
			{"by name", store.BadgeFilter{ProjectID: f.proj.ID, Name: "pipeline"}, "group:pipeline"},
		} {
			if got := list(c.f); got != c.want {
				t.Errorf("%s: %s, want %s", c.name, got, c.want)
			}
		}
		// One badge by id, only through its owner.
		err := s.Read(ctx, func(tx *store.Tx) error {
			bs, _, err := tx.ListBadges(ctx, store.BadgeFilter{GroupID: f.sub.ID}, store.Page{Page: 1, PerPage: 1})
			if err != nil {
				return err
			}
			if b, err := tx.Badge(ctx, store.BadgeFilter{GroupID: f.sub.ID}, bs[0].ID); err != nil || b.Name != "pipeline" {
				t.Errorf("badge by id: %+v %v", b, err)
			}
			if _, err := tx.Badge(ctx, store.BadgeFilter{GroupID: f.top.ID}, bs[0].ID); ferry.ErrorCode(err) != ferry.ENOTFOUND {
				t.Errorf("another group's badge: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := store.RenderBadgeURL("https://x/%{project_path}/%{unknown}", map[string]string{"project_path": "g/sub/p"}); got != "https://x/g/sub/p/%{unknown}" {
			t.Errorf("rendered %s", got)
		}

		for _, c := range []struct {
			name string
			b    forge.Badge
		}{
			{"no link", forge.Badge{SourceID: gsid("x1"), ImageURL: "https://a.example/i.svg"}},
			{"ftp image", forge.Badge{SourceID: gsid("x2"), LinkURL: "https://a.example", ImageURL: "ftp://a.example/i.svg"}},
			{"no host", forge.Badge{SourceID: gsid("x3"), LinkURL: "https:///x", ImageURL: "https://a.example/i.svg"}},
			{"long name", forge.Badge{SourceID: gsid("x4"), Name: strings.Repeat("n", store.MaxBadgeName+1), LinkURL: "https://a.example",
				ImageURL: "https://a.example/i.svg"}},
			{"long URL", forge.Badge{SourceID: gsid("x5"), LinkURL: "https://a.example/" + strings.Repeat("a", store.MaxBadgeURL),
				ImageURL: "https://a.example/i.svg"}},
			{"no identity", forge.Badge{LinkURL: "https://a.example", ImageURL: "https://a.example/i.svg"}},
		} {
			for _, group := range []bool{true, false} {
				err := s.Write(ctx, func(tx *store.Tx) error {
					var err error
					if group {
						_, err = tx.WriteGroupContent(ctx, f.sub.ID, []forge.Object{c.b})
					} else {
						_, err = tx.WriteContent(ctx, f.proj.ID, []forge.Object{c.b})
					}
					return err
				})
				if ferry.ErrorCode(err) != ferry.EINVALID {
					t.Errorf("%s (group %v): %v, want EINVALID", c.name, group, err)
				}
			}
		}

		// Deleting the subgroup takes its badges, its project's and its
		// imported members; the parent's badge stays.
		mustWrite(t, s, func(tx *store.Tx) error {
			_, err := tx.WriteGroupContent(ctx, f.sub.ID, []forge.Object{forge.Member{SourceID: gsid("m"),
				User: forge.SourceUser{SourceID: gsid("z"), Login: "z"}, AccessLevel: 30}})
			if err != nil {
				return err
			}
			_, err = tx.DeleteNamespace(ctx, f.sub.ID)
			return err
		})
		if n := rows(t, s, `SELECT COUNT(*) FROM badges`); n != 1 {
			t.Errorf("%d badges after deleting the subgroup, want the parent's 1", n)
		}
		if n := rows(t, s, `SELECT COUNT(*) FROM imported_group_members`); n != 0 {
			t.Errorf("%d imported group members after deleting the group", n)
		}
	})
}
