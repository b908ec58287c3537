package outreach

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
)

func TestListOpenHandoffs(t *testing.T) {
	rdb := redistest.Client(t)
	n := NewRepNotifier(rdb, &captureSender{}, nil, "", nil)
	t.Cleanup(func() { _ = n.Close() })
	if _, err := n.ListOpen(t.Context(), HandoffQuery{}); !errors.Is(err, ErrHandoffsOff) {
		t.Fatalf("ListOpen without a policy: %v, want ErrHandoffsOff", err)
	}
	n.SetPolicy(HandoffPolicy{SLA: 24 * time.Hour})
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	open := func(id, name, rep string, at time.Time) {
		t.Helper()
		if err := n.Opened(t.Context(), &contacts.Contact{ID: id, Name: name}, rep, at); err != nil {
			t.Fatal(err)
		}
	}
	open("c-old", "王伟", "rep.li", t0)
	open("c-new", "李娜", "rep.li", t0.Add(30*time.Hour))
	open("c-other", "张敏", "rep.zhao", t0.Add(time.Hour))
	open("c-done", "赵磊", "rep.li", t0.Add(2*time.Hour))
	open("c-moved", "孙丽", "rep.li", t0.Add(3*time.Hour))
	open("c-moved", "孙丽", "rep.zhao", t0.Add(4*time.Hour)) // handed again, to another rep
	if err := n.FollowedUp(t.Context(), "c-done", t0.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(36 * time.Hour)
	h := func(id, name, rep string, opened time.Time, overdue bool) OpenHandoff {
		return OpenHandoff{ContactID: id, Name: name, Rep: rep, OpenedAt: opened, DueAt: opened.Add(24 * time.Hour), Overdue: overdue}
	}
	for _, tt := range []struct {
		name string
		q    HandoffQuery
		want []OpenHandoff
	}{
		{"everyone's, oldest first", HandoffQuery{Now: now}, []OpenHandoff{
			h("c-old", "王伟", "rep.li", t0, true), h("c-other", "张敏", "rep.zhao", t0.Add(time.Hour), true),
			h("c-moved", "孙丽", "rep.zhao", t0.Add(4*time.Hour), true), h("c-new", "李娜", "rep.li", t0.Add(30*time.Hour), false)}},
		{"one rep's", HandoffQuery{Rep: "rep.li", Now: now}, []OpenHandoff{
			h("c-old", "王伟", "rep.li", t0, true), h("c-new", "李娜", "rep.li", t0.Add(30*time.Hour), false)}},
		{"one rep's overdue", HandoffQuery{Rep: "rep.li", Overdue: true, Now: now}, []OpenHandoff{h("c-old", "王伟", "rep.li", t0, true)}},
		{"overdue exactly at the SLA", HandoffQuery{Rep: "rep.li", Overdue: true, Now: t0.Add(24 * time.Hour)}, []OpenHandoff{h("c-old", "王伟", "rep.li", t0, true)}},
		{"nothing overdue yet", HandoffQuery{Overdue: true, Now: t0.Add(time.Hour)}, []OpenHandoff{}},
		{"limit", HandoffQuery{Now: now, Limit: 1}, []OpenHandoff{h("c-old", "王伟", "rep.li", t0, true)}},
		{"a rep with none", HandoffQuery{Rep: "rep.nobody", Now: now}, []OpenHandoff{}},
	} {
		got, err := n.ListOpen(t.Context(), tt.q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got)\n%s", tt.name, diff)
		}
	}
	// A record that expired leaves the index on the next read.
	if err := rdb.Del(t.Context(), handoffKey("c-old")).Err(); err != nil {
		t.Fatal(err)
	}
	if got, _ := n.ListOpen(t.Context(), HandoffQuery{Rep: "rep.li", Now: now}); len(got) != 1 || got[0].ContactID != "c-new" {
		t.Errorf("after expiry: %+v, want only c-new", got)
	}
	if err := rdb.ZScore(t.Context(), repOpenKey("rep.li"), "c-old").Err(); err == nil {
		t.Error("the rep's index still holds the expired hand-off")
	}
}
