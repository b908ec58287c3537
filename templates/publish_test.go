package templates

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// statuses lists "version:status" newest first, with the published version.
func statuses(t *testing.T, s *Store, id string) []string {
	t.Helper()
	versions, err := s.Versions(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range versions {
		out = append(out, fmt.Sprintf("%d:%s (live %d)", v.Version, v.Status, v.PublishedVersion))
	}
	return out
}

func TestDraftsPublishAndRollback(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{})
	id := sample().ID
	// A first save as a draft: nothing is live yet.
	d1, err := s.SaveDraft(ctx, withText("v1 {{.name}}"), "ann")
	if err != nil {
		t.Fatal(err)
	}
	if d1.Status != StatusDraft || d1.PublishedVersion != 0 {
		t.Errorf("first draft: status %q, published %d; want draft, 0", d1.Status, d1.PublishedVersion)
	}
	if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotPublished) {
		t.Errorf("Get with drafts only: %v, want ErrNotPublished", err)
	}
	if _, err := s.Latest(ctx, id); err != nil {
		t.Errorf("Latest with drafts only: %v", err)
	}
	// Publish it; a second draft leaves sends on version 1.
	if _, changed, err := s.Publish(ctx, id, 1, "bob"); err != nil || !changed {
		t.Fatalf("publish 1: changed %v, %v", changed, err)
	}
	if _, err := s.SaveDraft(ctx, withText("v2 {{.name}}"), "ann"); err != nil {
		t.Fatal(err)
	}
	live, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if live.Version != 1 || live.Channels.WeCom.Text != "v1 {{.name}}" || live.Status != StatusPublished {
		t.Errorf("after a draft sends use version %d %q (%s), want version 1", live.Version, live.Channels.WeCom.Text, live.Status)
	}
	if latest, _ := s.Latest(ctx, id); latest.Version != 2 || latest.Status != StatusDraft || latest.PublishedVersion != 1 {
		t.Errorf("Latest: version %d %s live %d, want 2 draft live 1", latest.Version, latest.Status, latest.PublishedVersion)
	}
	// A save without draft publishes at once, as before drafts existed.
	if _, err := s.Save(ctx, withText("v3 {{.name}}"), "cat"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"3:published (live 3)", "2:superseded (live 3)", "1:superseded (live 3)"}, statuses(t, s, id)); diff != "" {
		t.Errorf("after publishing 3 (-want +got)\n%s", diff)
	}
	// Rollback to 1: sends use it again, and the log says who did it.
	rolled, changed, err := s.Publish(ctx, id, 1, "dan")
	if err != nil || !changed {
		t.Fatalf("rollback: changed %v, %v", changed, err)
	}
	if rolled.PublishedBy != "dan" || rolled.Status != StatusPublished {
		t.Errorf("rolled back version: by %q status %q", rolled.PublishedBy, rolled.Status)
	}
	if live, _ := s.Get(ctx, id); live.Version != 1 {
		t.Errorf("after rollback sends use version %d, want 1", live.Version)
	}
	if _, changed, _ := s.Publish(ctx, id, 1, "eve"); changed {
		t.Error("publishing the live version again reported a change")
	}
	// A new draft after the rollback is a draft; 2 and 3 are superseded.
	if _, err := s.SaveDraft(ctx, withText("v4 {{.name}}"), "ann"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"4:draft (live 1)", "3:superseded (live 1)", "2:superseded (live 1)", "1:published (live 1)"}, statuses(t, s, id)); diff != "" {
		t.Errorf("after rollback and a draft (-want +got)\n%s", diff)
	}
	log, err := s.Publishes(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range log {
		got = append(got, fmt.Sprintf("%d by %s", p.Version, p.By))
	}
	if diff := cmp.Diff([]string{"1 by dan", "3 by cat", "1 by bob"}, got); diff != "" {
		t.Errorf("publish log (-want +got)\n%s", diff)
	}
	// The same content as the newest draft, saved without draft, publishes
	// that draft instead of making a copy.
	again, err := s.Save(ctx, withText("v4 {{.name}}"), "fay")
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != 4 || again.Status != StatusPublished {
		t.Errorf("saving the draft's content: version %d %s, want 4 published", again.Version, again.Status)
	}
	// A pinned reference reads that version whatever is live.
	pinned, err := s.Get(ctx, id+"@2")
	if err != nil || pinned.Channels.WeCom.Text != "v2 {{.name}}" {
		t.Errorf("Get(%s@2): %q, %v", id, pinned.Channels.WeCom.Text, err)
	}
}

func TestPublishErrors(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{})
	if _, err := s.Save(ctx, sample(), "ann"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"unknown template", func() error { _, _, err := s.Publish(ctx, "nope", 1, "ann"); return err }, ErrNotFound},
		{"future version", func() error { _, _, err := s.Publish(ctx, sample().ID, 2, "ann"); return err }, ErrNotFound},
		{"version zero", func() error { _, _, err := s.Publish(ctx, sample().ID, 0, "ann"); return err }, ErrInvalid},
		{"bad id", func() error { _, _, err := s.Publish(ctx, "{x}", 1, "ann"); return err }, ErrInvalid},
		{"bad pinned ref", func() error { _, err := s.Get(ctx, sample().ID+"@x"); return err }, ErrInvalid},
		{"pinned future version", func() error { _, err := s.Get(ctx, sample().ID+"@9"); return err }, ErrNotFound},
		{"latest of unknown", func() error { _, err := s.Latest(ctx, "nope"); return err }, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestPublishedSurvivesTrim: a rollback target trimmed from the history
// stays what sends use.
func TestPublishedSurvivesTrim(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{MaxVersions: 2})
	if _, err := s.Save(ctx, withText("live"), "ann"); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 4; i++ {
		if _, err := s.SaveDraft(ctx, withText(fmt.Sprintf("draft %d", i)), "ann"); err != nil {
			t.Fatal(err)
		}
	}
	live, err := s.Get(ctx, sample().ID)
	if err != nil || live.Version != 1 || live.Channels.WeCom.Text != "live" {
		t.Errorf("live version after trimming: %d %v", live.Version, err)
	}
	if v1, err := s.GetVersion(ctx, sample().ID, 1); err != nil || v1.Status != StatusPublished {
		t.Errorf("GetVersion(1) of the trimmed live version: %v %v", v1.Status, err)
	}
}

// TestTemplatesSavedBeforeDrafts: a template stored without the publish
// fields counts its newest version as published.
func TestTemplatesSavedBeforeDrafts(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{})
	k := keysFor("old")
	rec := `{"v":2,"t":{"id":"old","name":"Old","purpose":"service","channels":{"wecom":{"text":"hi"}},"updated_at":"2026-01-01T00:00:00Z"}}`
	old1 := `{"v":1,"t":{"id":"old","name":"Old","purpose":"service","channels":{"wecom":{"text":"hello"}},"updated_at":"2026-01-01T00:00:00Z"}}`
	if err := s.rdb.HSet(ctx, k.cur, "json", rec, "version", 2, "digest", "x").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.LPush(ctx, k.hist, old1, rec).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.Set(ctx, k.seq, 2, 0).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "old")
	if err != nil || got.Version != 2 || got.Status != StatusPublished {
		t.Fatalf("Get: version %d %s, %v; want 2 published", got.Version, got.Status, err)
	}
	if diff := cmp.Diff([]string{"2:published (live 2)", "1:superseded (live 2)"}, statuses(t, s, "old")); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	// A draft on top keeps version 2 live.
	tmpl := Template{ID: "old", Name: "Old", Purpose: "service", Channels: Channels{WeCom: &WeComBody{Text: "new"}}}
	if _, err := s.SaveDraft(ctx, tmpl, "ann"); err != nil {
		t.Fatal(err)
	}
	if live, err := s.Get(ctx, "old"); err != nil || live.Version != 2 {
		t.Errorf("after a draft: live %d, %v; want 2", live.Version, err)
	}
}

func TestDiff(t *testing.T) {
	a := sample()
	b := sample()
	b.Name = "Webinar reminder (spring)"
	b.Channels.WeCom.Text = "您好，研讨会明天开始"
	b.Channels.SMS.Params["place"] = "{{.city}}"
	delete(b.Channels.SMS.Params, "time")
	b.Channels.Email.Text = "第一行\n第二行改了\n第三行"
	a.Channels.Email.Text = "第一行\n第二行\n第三行"
	b.Channels.OfficialAccount = nil
	got := Diff(a, b)
	var paths []string
	for _, c := range got {
		paths = append(paths, c.Path)
	}
	want := []string{"channels.email.text", "channels.officialaccount.fields.first", "channels.officialaccount.fields.keyword1",
		"channels.officialaccount.fields.keyword2", "channels.officialaccount.fields.remark", "channels.officialaccount.template_id",
		"channels.officialaccount.text", "channels.officialaccount.url", "channels.sms.params.place", "channels.sms.params.time",
		"channels.wecom.text", "name"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("changed paths (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]string{"  第一行", "- 第二行", "+ 第二行改了", "  第三行"}, got[0].Lines); diff != "" {
		t.Errorf("line diff (-want +got)\n%s", diff)
	}
	last := got[len(got)-1]
	if diff := cmp.Diff(Change{Path: "name", From: "Webinar reminder", To: "Webinar reminder (spring)"}, last); diff != "" {
		t.Errorf("name change (-want +got)\n%s", diff)
	}
	if d := Diff(a, a); len(d) != 0 {
		t.Errorf("a template differs from itself: %v", d)
	}
	// Stamps are not content.
	c := a
	c.Version, c.UpdatedBy, c.UpdatedAt = 9, "zed", time.Now()
	if d := Diff(a, c); len(d) != 0 {
		t.Errorf("stamps counted as changes: %v", d)
	}
}
