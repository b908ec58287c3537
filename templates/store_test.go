package templates

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/internal/redistest"
)

func newStore(t *testing.T, opts Options) *Store {
	t.Helper()
	if opts.Now == nil {
		opts.Now = steppingClock(time.Minute)
	}
	s, err := NewStore(redistest.Client(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withText returns sample with its WeCom text replaced, so each call is
// new content.
func withText(text string) Template {
	tmpl := sample()
	tmpl.Channels.WeCom = &WeComBody{Text: text}
	return tmpl
}

func TestSaveVersions(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{})
	var saved []Template
	for i, by := range []string{"ann", "bob", "cat"} {
		tmpl := withText(fmt.Sprintf("v%d {{.name}}", i+1))
		tmpl.Version, tmpl.UpdatedBy = 99, "ignored" // the store sets these
		got, err := s.Save(ctx, tmpl, by)
		if err != nil {
			t.Fatal(err)
		}
		saved = append(saved, got)
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, got := range saved {
		want := withText(fmt.Sprintf("v%d {{.name}}", i+1))
		want.Version = i + 1
		want.UpdatedAt = start.Add(time.Duration(i+1) * time.Minute)
		want.UpdatedBy = []string{"ann", "bob", "cat"}[i]
		want.Status, want.PublishedVersion = StatusPublished, i+1
		want.PublishedAt, want.PublishedBy = &want.UpdatedAt, want.UpdatedBy
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("save %d (-want +got)\n%s", i+1, diff)
		}
	}

	versions, err := s.Versions(ctx, "webinar-reminder")
	if err != nil {
		t.Fatal(err)
	}
	// Each save published its version, so the older ones are superseded.
	newestFirst := []Template{saved[2], asOf(saved[1], StatusSuperseded, 3), asOf(saved[0], StatusSuperseded, 3)}
	if diff := cmp.Diff(newestFirst, versions); diff != "" {
		t.Errorf("Versions (-want +got)\n%s", diff)
	}
	current, err := s.Get(ctx, "webinar-reminder")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved[2], current); diff != "" {
		t.Errorf("Get (-want +got)\n%s", diff)
	}
	for v := 1; v <= 3; v++ {
		got, err := s.GetVersion(ctx, "webinar-reminder", v)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(newestFirst[3-v], got); diff != "" {
			t.Errorf("GetVersion(%d) (-want +got)\n%s", v, diff)
		}
	}
}

// asOf is t as read after later publishes changed its status.
func asOf(t Template, status Status, published int) Template {
	t.Status, t.PublishedVersion = status, published
	return t
}

func TestSaveUnchangedIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{})
	first, err := s.Save(ctx, sample(), "ann")
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Save(ctx, sample(), "bob") // same content, another editor
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("unchanged save (-want +got)\n%s", diff)
	}
	renamed := sample()
	renamed.Name = "Webinar reminder (spring)"
	next, err := s.Save(ctx, renamed, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if next.Version != 2 {
		t.Errorf("a changed name made version %d, want 2", next.Version)
	}
	// Back to the first content: a new version, not a return to version 1.
	back, err := s.Save(ctx, sample(), "cat")
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != 3 {
		t.Errorf("reverting made version %d, want 3", back.Version)
	}
	versions, err := s.Versions(ctx, sample().ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, v := range versions {
		got = append(got, v.Version)
	}
	if diff := cmp.Diff([]int{3, 2, 1}, got); diff != "" {
		t.Errorf("versions (-want +got)\n%s", diff)
	}
}

func TestHistoryIsTrimmedButCurrentKept(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{MaxVersions: 2})
	for i := 1; i <= 5; i++ {
		if _, err := s.Save(ctx, withText(fmt.Sprintf("v%d", i)), "ann"); err != nil {
			t.Fatal(err)
		}
	}
	versions, err := s.Versions(ctx, "webinar-reminder")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range versions {
		got = append(got, fmt.Sprintf("%d:%s", v.Version, v.Channels.WeCom.Text))
	}
	if diff := cmp.Diff([]string{"5:v5", "4:v4"}, got); diff != "" {
		t.Errorf("kept versions (-want +got)\n%s", diff)
	}
	if _, err := s.GetVersion(ctx, "webinar-reminder", 3); !errors.Is(err, ErrNotFound) {
		t.Errorf("trimmed version: got %v, want ErrNotFound", err)
	}
	cur, err := s.Get(ctx, "webinar-reminder")
	if err != nil || cur.Version != 5 {
		t.Errorf("Get: version %d, %v; want 5", cur.Version, err)
	}
}

func TestConcurrentSavesGetConsecutiveVersions(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{Now: time.Now})
	const writers = 8
	var wg sync.WaitGroup
	versions := make([]int, writers)
	errs := make([]error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.Save(ctx, withText(fmt.Sprintf("writer %d", i)), fmt.Sprintf("w%d", i))
			versions[i], errs[i] = got.Version, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Ints(versions)
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6, 7, 8}, versions); diff != "" {
		t.Errorf("versions (-want +got)\n%s", diff)
	}
	// Every version in the history is one writer's content, at its number.
	history, err := s.Versions(ctx, "webinar-reminder")
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]bool{}
	for i, v := range history {
		if v.Version != writers-i {
			t.Errorf("history[%d] is version %d, want %d", i, v.Version, writers-i)
		}
		texts[v.Channels.WeCom.Text] = true
		got, err := s.GetVersion(ctx, "webinar-reminder", v.Version)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(v, got); diff != "" {
			t.Errorf("GetVersion(%d) (-want +got)\n%s", v.Version, diff)
		}
	}
	if len(texts) != writers {
		t.Errorf("history holds %d distinct contents, want %d", len(texts), writers)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{})
	empty, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(empty) != 0 {
		t.Fatalf("empty store lists %v", empty)
	}
	a := sample()
	b := Template{ID: "order-shipped", Name: "Order shipped", Purpose: channels.Transactional,
		Channels: Channels{SMS: &SMSBody{TemplateCode: "SMS_987", Params: map[string]string{"no": "{{.order}}"}}}}
	if _, err := s.Save(ctx, a, "ann"); err != nil {
		t.Fatal(err)
	}
	a.Name = "Webinar reminder v2"
	if _, err := s.Save(ctx, a, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(ctx, b, "cat"); err != nil {
		t.Fatal(err)
	}
	// An id indexed by a save that never finished is skipped.
	if err := s.rdb.SAdd(ctx, indexKey, "half-saved").Err(); err != nil {
		t.Fatal(err)
	}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	want := []Summary{
		{ID: "order-shipped", Name: "Order shipped", Purpose: channels.Transactional, Channels: []channels.Channel{channels.SMS},
			Version: 1, UpdatedAt: start.Add(3 * time.Minute), UpdatedBy: "cat", Status: StatusPublished, PublishedVersion: 1},
		{ID: "webinar-reminder", Name: "Webinar reminder v2", Purpose: channels.Marketing,
			Channels: []channels.Channel{channels.WeCom, channels.OfficialAccount, channels.SMS, channels.Email},
			Version:  2, UpdatedAt: start.Add(2 * time.Minute), UpdatedBy: "bob", Status: StatusPublished, PublishedVersion: 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestStoreErrors(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{})
	if _, err := s.Save(ctx, sample(), "ann"); err != nil {
		t.Fatal(err)
	}
	bad := sample()
	bad.Channels.SMS.TemplateCode = "123"
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"get unknown", func() error { _, err := s.Get(ctx, "nope"); return err }, ErrNotFound},
		{"versions unknown", func() error { _, err := s.Versions(ctx, "nope"); return err }, ErrNotFound},
		{"version of unknown", func() error { _, err := s.GetVersion(ctx, "nope", 1); return err }, ErrNotFound},
		{"future version", func() error { _, err := s.GetVersion(ctx, "webinar-reminder", 2); return err }, ErrNotFound},
		{"version zero", func() error { _, err := s.GetVersion(ctx, "webinar-reminder", 0); return err }, ErrInvalid},
		{"bad id on get", func() error { _, err := s.Get(ctx, "{c:1}"); return err }, ErrInvalid},
		{"invalid template", func() error { _, err := s.Save(ctx, bad, "ann"); return err }, ErrInvalid},
		{"author too long", func() error { _, err := s.Save(ctx, sample(), string(make([]byte, 200))); return err }, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	// A refused save wrote nothing.
	versions, err := s.Versions(ctx, "webinar-reminder")
	if err != nil || len(versions) != 1 {
		t.Errorf("after refused saves: %d versions, %v", len(versions), err)
	}
}

func TestNewStoreRefusesBadOptions(t *testing.T) {
	if _, err := NewStore(nil, Options{}); err == nil {
		t.Error("nil client: no error")
	}
	if _, err := NewStore(redistest.Client(t), Options{MaxVersions: -1}); err == nil {
		t.Error("negative MaxVersions: no error")
	}
}

// TestSavedTemplateRenders closes the loop: what Save stored renders as
// the sample does, through the cache keyed by the stored version.
func TestSavedTemplateRenders(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{})
	saved, err := s.Save(ctx, sample(), "ann")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, saved.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := newRenderer(t, RenderOptions{})
	out, err := r.Render(got, channels.SMS, sampleVars())
	if err != nil {
		t.Fatal(err)
	}
	want := Rendered{Channel: channels.SMS, Template: "webinar-reminder", Version: 1, TemplateCode: "SMS_123456",
		Params: map[string]string{"name": "王小明", "time": "3月5日14:30"}}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}
