package contacts

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/redistest"

	"github.com/google/go-cmp/cmp"
)

func TestApplyCreates(t *testing.T) {
	f := newFixture(t, Options{})
	t0 := f.clock.Now()
	at := t0.Add(-time.Hour)
	tests := []struct {
		name       string
		change     Change
		wantResult Result
		want       Contact
		wantTL     []Entry
	}{
		{
			name:       "defaults",
			change:     Change{Identities: []Identity{phone("13800000001")}},
			wantResult: Result{ContactID: IDFor(phone("13800000001")), Created: true},
			want: Contact{
				ID: IDFor(phone("13800000001")), Identities: map[string][]string{"phone": {"13800000001"}},
				Tags: []string{}, Stage: "prospect", Activity: "active", Consent: consent(), CreatedAt: t0,
			},
			wantTL: []Entry{},
		},
		{
			name: "every field",
			change: Change{
				EventID: "api:1", Identities: []Identity{email("Han.Meimei@Example.com")}, At: at, Touch: true,
				Owner: "rep-zhang", Name: "韩梅梅", TZ: "Asia/Shanghai",
				Fields:  map[string]string{"company": "ACME", "city": "上海"},
				AddTags: []string{"webinar", "vip", "vip"}, Stage: "mql", Activity: "silent", ScoreDelta: 10,
				Consent:     []ConsentChange{{Channel: "email", Status: "opted_in", Source: "web form 2026-03-01"}},
				Unreachable: []string{"sms"},
				Timeline:    &Entry{Type: "whitepaper_download", Source: "api", Props: map[string]string{"doc": "wp-1"}},
			},
			wantResult: Result{ContactID: IDFor(email("han.meimei@example.com")), Created: true, TagsAdded: []string{"vip", "webinar"}, Score: 10, ScoreDelta: 10},
			want: Contact{
				ID: IDFor(email("han.meimei@example.com")), Identities: map[string][]string{"email": {"han.meimei@example.com"}},
				Tags: []string{"vip", "webinar"}, Stage: "mql", Activity: "silent", Score: 10, Owner: "rep-zhang", Name: "韩梅梅",
				Consent:       consent("email", "opted_in"),
				ConsentSource: map[string]string{"email": "web form 2026-03-01"},
				Unreachable:   []string{"sms"}, Fields: map[string]string{"company": "ACME", "city": "上海"},
				TZ: "Asia/Shanghai", CreatedAt: at, LastSeen: at,
			},
			wantTL: []Entry{
				{At: at, Type: TypeConsent, Source: "web form 2026-03-01", Props: map[string]string{"channel": "email", "status": "opted_in"}},
				{At: at, Type: "whitepaper_download", Source: "api", Props: map[string]string{"doc": "wp-1"}},
			},
		},
		{
			name:       "touch sets last seen and activity",
			change:     Change{Identities: []Identity{openid("o-touch")}, Touch: true, ScoreDelta: -3},
			wantResult: Result{ContactID: IDFor(openid("o-touch")), Created: true, Score: -3, ScoreDelta: -3},
			want: Contact{
				ID: IDFor(openid("o-touch")), Identities: map[string][]string{"openid": {"o-touch"}},
				Tags: []string{}, Stage: "prospect", Activity: "active", Score: -3, Consent: consent(), CreatedAt: t0, LastSeen: t0,
			},
			wantTL: []Entry{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.apply(t, tt.change)
			if diff := cmp.Diff(tt.wantResult, got); diff != "" {
				t.Errorf("Apply result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(&tt.want, f.get(t, got.ContactID)); diff != "" {
				t.Errorf("Get (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantTL, f.timeline(t, got.ContactID)); diff != "" {
				t.Errorf("Timeline (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyUpdatesExisting(t *testing.T) {
	f := newFixture(t, Options{})
	t0 := f.clock.Now()
	id := f.apply(t, Change{Identities: []Identity{phone("1")}, Fields: map[string]string{"a": "1", "b": "2"}, Owner: "rep-a", Touch: true}).ContactID
	f.clock.Advance(time.Minute)
	got := f.apply(t, Change{Identities: []Identity{phone("1")}, Fields: map[string]string{"a": "", "c": "3"}, Stage: "customer", ScoreDelta: 4})
	if diff := cmp.Diff(Result{ContactID: id, Score: 4, ScoreDelta: 4}, got); diff != "" {
		t.Errorf("Apply result (-want +got):\n%s", diff)
	}
	// An event that happened earlier does not move last_seen back.
	f.apply(t, Change{Identities: []Identity{phone("1")}, Touch: true, At: t0.Add(-time.Hour)})
	want := &Contact{
		ID: id, Identities: map[string][]string{"phone": {"1"}}, Tags: []string{}, Stage: "customer", Activity: "active",
		Score: 4, Owner: "rep-a", Consent: consent(), Fields: map[string]string{"b": "2", "c": "3"}, CreatedAt: t0, LastSeen: t0,
	}
	if diff := cmp.Diff(want, f.get(t, id)); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
}

func TestApplyDeduplicates(t *testing.T) {
	tests := []struct {
		name   string
		change Change
	}{
		{"single identity", Change{EventID: "wx:1", Identities: []Identity{openid("o1")}, ScoreDelta: 10, AddTags: []string{"a"}, Timeline: &Entry{Type: "message", Text: "你好"}}},
		{"several identities", Change{EventID: "wx:2", Identities: []Identity{openid("o2"), phone("2")}, ScoreDelta: 10, RemoveTags: []string{"x"}, Touch: true}},
		{"consent", Change{EventID: "sms:3", Identities: []Identity{phone("3")}, Consent: []ConsentChange{{"sms", "opted_out", "SMS reply TD"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{DedupTTL: time.Hour})
			first := f.apply(t, tt.change)
			if first.Duplicate {
				t.Fatalf("first Apply reported Duplicate")
			}
			before := f.dump(t)
			f.clock.Advance(time.Minute)
			second := f.apply(t, tt.change)
			want := Result{ContactID: first.ContactID, Duplicate: true, Score: first.Score}
			if diff := cmp.Diff(want, second); diff != "" {
				t.Errorf("second Apply (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, f.dump(t)); diff != "" {
				t.Errorf("the duplicate changed Redis (-want +got):\n%s", diff)
			}
			expiry, err := f.rdb.ZScore(f.ctx, keysFor(first.ContactID).evs, eventMember(tt.change.EventID)).Result()
			if want := f.clock.Now().Add(59 * time.Minute).UnixMilli(); err != nil || int64(expiry) != want {
				t.Errorf("de-dup record expires at %d, %v; want %d (an hour after the first Apply)", int64(expiry), err, want)
			}
			if members, _ := f.rdb.ZRange(f.ctx, keysFor(first.ContactID).evs, 0, -1).Result(); slices.Contains(members, tt.change.EventID) {
				t.Errorf("the de-dup record holds the raw event id %q; want only its digest", tt.change.EventID)
			}
			// Once the de-dup window has passed, the same id counts as new.
			f.clock.Advance(time.Hour)
			if again := f.apply(t, tt.change); again.Duplicate {
				t.Errorf("Apply after the de-dup window = %+v, want it applied again", again)
			}
		})
	}
}

func TestApplyTags(t *testing.T) {
	f := newFixture(t, Options{})
	a, b := phone("100"), phone("200")
	idA, idB := IDFor(a), IDFor(b)
	steps := []struct {
		name        string
		change      Change
		wantResult  Result
		wantTags    []string
		wantIndexes map[string][]string
	}{
		{
			name:        "add to a",
			change:      Change{Identities: []Identity{a}, AddTags: []string{"vip", "webinar"}},
			wantResult:  Result{ContactID: idA, Created: true, TagsAdded: []string{"vip", "webinar"}},
			wantTags:    []string{"vip", "webinar"},
			wantIndexes: map[string][]string{"vip": {idA}, "webinar": {idA}, "lead": {}},
		},
		{
			name:        "add to b",
			change:      Change{Identities: []Identity{b}, AddTags: []string{"vip", "lead"}},
			wantResult:  Result{ContactID: idB, Created: true, TagsAdded: []string{"lead", "vip"}},
			wantTags:    []string{"lead", "vip"},
			wantIndexes: map[string][]string{"vip": sorted(idA, idB), "webinar": {idA}, "lead": {idB}},
		},
		{
			name:        "only real changes are reported",
			change:      Change{Identities: []Identity{a}, AddTags: []string{"vip", "lead"}, RemoveTags: []string{"webinar", "never-had"}},
			wantResult:  Result{ContactID: idA, TagsAdded: []string{"lead"}, TagsRemoved: []string{"webinar"}},
			wantTags:    []string{"lead", "vip"},
			wantIndexes: map[string][]string{"vip": sorted(idA, idB), "webinar": {}, "lead": sorted(idA, idB)},
		},
		{
			name:        "nothing changes",
			change:      Change{Identities: []Identity{a}, AddTags: []string{"vip"}},
			wantResult:  Result{ContactID: idA},
			wantTags:    []string{"lead", "vip"},
			wantIndexes: map[string][]string{"vip": sorted(idA, idB), "webinar": {}, "lead": sorted(idA, idB)},
		},
		{
			name:        "remove all from b",
			change:      Change{Identities: []Identity{b}, RemoveTags: []string{"vip", "lead"}},
			wantResult:  Result{ContactID: idB, TagsRemoved: []string{"lead", "vip"}},
			wantTags:    []string{},
			wantIndexes: map[string][]string{"vip": {idA}, "webinar": {}, "lead": {idA}},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			got := f.apply(t, st.change)
			if diff := cmp.Diff(st.wantResult, got); diff != "" {
				t.Errorf("Apply result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(st.wantTags, f.get(t, got.ContactID).Tags); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			gotIdx := map[string][]string{}
			for tag := range st.wantIndexes {
				gotIdx[tag] = f.withTag(t, tag)
			}
			if diff := cmp.Diff(st.wantIndexes, gotIdx); diff != "" {
				t.Errorf("tag index (-want +got):\n%s", diff)
			}
			if n, err := f.rdb.SCard(f.ctx, keysFor(got.ContactID).tagp).Result(); err != nil || n != 0 {
				t.Errorf("tags left pending: %d, %v; want none", n, err)
			}
		})
	}
}

func sorted(ids ...string) []string {
	out := append([]string(nil), ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestConsentOnTimeline(t *testing.T) {
	f := newFixture(t, Options{})
	p := phone("13900000000")
	id := IDFor(p)
	t0 := f.clock.Now()
	steps := []struct {
		name       string
		consent    []ConsentChange
		wantStatus map[string]string
		wantSource map[string]string
		wantNew    []Entry // entries this step adds, newest first
	}{
		{
			name:       "opt in",
			consent:    []ConsentChange{{"sms", "opted_in", "web form 2026-03-01"}},
			wantStatus: consent("sms", "opted_in"),
			wantSource: map[string]string{"sms": "web form 2026-03-01"},
			wantNew:    []Entry{{At: t0, Type: TypeConsent, Source: "web form 2026-03-01", Props: map[string]string{"channel": "sms", "status": "opted_in"}}},
		},
		{
			name:       "same status and source again records nothing",
			consent:    []ConsentChange{{"sms", "opted_in", "web form 2026-03-01"}},
			wantStatus: consent("sms", "opted_in"),
			wantSource: map[string]string{"sms": "web form 2026-03-01"},
		},
		{
			name:       "opt out and opt in elsewhere",
			consent:    []ConsentChange{{"sms", "opted_out", "SMS reply TD"}, {"wecom", "opted_in", ""}},
			wantStatus: consent("sms", "opted_out", "wecom", "opted_in"),
			wantSource: map[string]string{"sms": "SMS reply TD"},
			wantNew: []Entry{
				{At: t0.Add(3 * time.Minute), Type: TypeConsent, Props: map[string]string{"channel": "wecom", "status": "opted_in"}},
				{At: t0.Add(3 * time.Minute), Type: TypeConsent, Source: "SMS reply TD", Props: map[string]string{"channel": "sms", "status": "opted_out"}},
			},
		},
	}
	var wantTL []Entry
	for n, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f.clock.Advance(time.Duration(n) * time.Minute) // 0, 1, 2: steps at t0, t0+1m, t0+3m
			f.apply(t, Change{Identities: []Identity{p}, Consent: st.consent})
			c := f.get(t, id)
			if diff := cmp.Diff(st.wantStatus, c.Consent); diff != "" {
				t.Errorf("consent (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(st.wantSource, c.ConsentSource); diff != "" {
				t.Errorf("consent source (-want +got):\n%s", diff)
			}
			wantTL = append(append([]Entry{}, st.wantNew...), wantTL...)
			if diff := cmp.Diff(wantTL, f.timeline(t, id)); diff != "" {
				t.Errorf("timeline (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvalidChangeWritesNothing(t *testing.T) {
	f := newFixture(t, Options{})
	f.apply(t, Change{EventID: "seed", Identities: []Identity{phone("1")}, AddTags: []string{"a"}, Timeline: &Entry{Type: "x"}})
	ok := phone("1")
	tests := []struct {
		name   string
		change Change
	}{
		{"no identity", Change{}},
		{"unknown kind", Change{Identities: []Identity{{"qq", "1"}}}},
		{"empty value", Change{Identities: []Identity{phone("")}}},
		{"bad second identity", Change{Identities: []Identity{ok, {"qq", "2"}}, ScoreDelta: 5}},
		{"bad stage", Change{Identities: []Identity{ok}, Stage: "lead", ScoreDelta: 5, AddTags: []string{"b"}}},
		{"bad activity", Change{Identities: []Identity{ok}, Activity: "asleep", ScoreDelta: 5}},
		{"bad consent status", Change{Identities: []Identity{ok}, Consent: []ConsentChange{{"sms", "yes", ""}}}},
		{"unknown consent channel", Change{Identities: []Identity{ok}, Consent: []ConsentChange{{"fax", "opted_in", ""}}}},
		{"consent channel twice", Change{Identities: []Identity{ok}, Consent: []ConsentChange{{"sms", "opted_in", ""}, {"sms", "opted_out", ""}}}},
		{"unknown unreachable channel", Change{Identities: []Identity{ok}, Unreachable: []string{"fax"}}},
		{"tag added and removed", Change{Identities: []Identity{ok}, AddTags: []string{"x"}, RemoveTags: []string{"x"}}},
		{"empty tag", Change{Identities: []Identity{ok}, AddTags: []string{""}}},
		{"padded tag", Change{Identities: []Identity{ok}, AddTags: []string{" vip"}}},
		{"too long tag", Change{Identities: []Identity{ok}, AddTags: []string{strings.Repeat("t", maxTagLen+1)}}},
		{"too long name", Change{Identities: []Identity{ok}, Name: strings.Repeat("名", maxNameLen)}},
		{"bad UTF-8 field", Change{Identities: []Identity{ok}, Fields: map[string]string{"k": "\xff"}}},
		{"empty field name", Change{Identities: []Identity{ok}, Fields: map[string]string{"": "v"}}},
		{"bad time zone", Change{Identities: []Identity{ok}, TZ: "Mars/Olympus"}},
		{"time before 1970", Change{Identities: []Identity{ok}, At: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"score delta too large", Change{Identities: []Identity{ok}, ScoreDelta: maxScoreDelta + 1}},
		{"timeline without type", Change{Identities: []Identity{ok}, Timeline: &Entry{Text: "hi"}}},
		{"event id with control character", Change{EventID: "a\nb", Identities: []Identity{ok}}},
		{"too many identities", Change{Identities: manyPhones(maxIdentities + 1)}},
	}
	before := f.dump(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.store.Apply(f.ctx, tt.change)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Apply error = %v; want ErrInvalid", err)
			}
			if diff := cmp.Diff(before, f.dump(t)); diff != "" {
				t.Errorf("an invalid change wrote to Redis (-want +got):\n%s", diff)
			}
		})
	}
}

func manyPhones(n int) []Identity {
	out := make([]Identity, n)
	for i := range out {
		out[i] = phone(fmt.Sprint(1000 + i))
	}
	return out
}

func TestTimelineBoundedNewestFirst(t *testing.T) {
	f := newFixture(t, Options{TimelineMax: 3})
	p := phone("1")
	var all []Entry
	for i := range 5 {
		at := f.clock.Advance(time.Minute)
		f.apply(t, Change{Identities: []Identity{p}, Timeline: &Entry{Type: "message", Text: fmt.Sprint("m", i)}})
		all = append([]Entry{{At: at, Type: "message", Text: fmt.Sprint("m", i)}}, all...)
	}
	tests := []struct {
		limit int
		want  []Entry
	}{
		{0, all[:3]},
		{-1, all[:3]},
		{2, all[:2]},
		{10, all[:3]},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("limit ", tt.limit), func(t *testing.T) {
			got, err := f.store.Timeline(f.ctx, IDFor(p), tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Timeline (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLookupEveryKind(t *testing.T) {
	f := newFixture(t, Options{})
	for _, i := range []Identity{phone("13800000000"), email("a@example.com"), openid("o-1"), {KindUnionID, "u-1"}, {KindExternalUserID, "wm-1"}} {
		f.apply(t, Change{Identities: []Identity{i}})
	}
	tests := []struct {
		name    string
		in      Identity
		want    string
		wantErr error
	}{
		{"phone", phone("13800000000"), IDFor(phone("13800000000")), nil},
		{"email", email("a@example.com"), IDFor(email("a@example.com")), nil},
		{"email in another case", email(" A@Example.com"), IDFor(email("a@example.com")), nil},
		{"openid", openid("o-1"), IDFor(openid("o-1")), nil},
		{"unionid", Identity{KindUnionID, "u-1"}, IDFor(Identity{KindUnionID, "u-1"}), nil},
		{"external_userid", Identity{KindExternalUserID, "wm-1"}, IDFor(Identity{KindExternalUserID, "wm-1"}), nil},
		{"unknown identity", phone("13800000001"), "", ErrNotFound},
		{"same value other kind", openid("13800000000"), "", ErrNotFound},
		{"bad kind", Identity{"qq", "1"}, "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.store.Lookup(f.ctx, tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Lookup error = %v; want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lookup (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadsOfUnknownContacts(t *testing.T) {
	f := newFixture(t, Options{})
	for _, id := range []string{IDFor(phone("9")), "not-an-id", ""} {
		if _, err := f.store.Get(f.ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) error = %v; want ErrNotFound", id, err)
		}
		if _, err := f.store.Timeline(f.ctx, id, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("Timeline(%q) error = %v; want ErrNotFound", id, err)
		}
	}
	if diff := cmp.Diff([]string{}, f.withTag(t, "none")); diff != "" {
		t.Errorf("WithTag of an unused tag (-want +got):\n%s", diff)
	}
	if _, err := f.store.WithTag(f.ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("WithTag(\"\") error = %v; want ErrInvalid", err)
	}
}

func TestRoundTrips(t *testing.T) {
	// The activity index is written behind; an hour keeps that write out
	// of the counts below, and the end of the test flushes it by hand.
	f := newFixture(t, Options{IndexFlush: time.Hour})
	// Load the scripts first so that EVALSHA never falls back to EVAL here.
	f.apply(t, Change{Identities: []Identity{phone("warm")}})
	f.apply(t, Change{Identities: []Identity{phone("linked"), openid("home")}})
	rt := redistest.CountRoundTrips(f.rdb)
	tests := []struct {
		name   string
		change Change
		want   int64
	}{
		{"new contact: the activity index is written behind", Change{EventID: "e1", Identities: []Identity{phone("new")}, ScoreDelta: 1, Touch: true, Timeline: &Entry{Type: "x"}}, 1},
		{"existing contact", Change{EventID: "e2", Identities: []Identity{phone("new")}, ScoreDelta: 1, Fields: map[string]string{"a": "b"}}, 1},
		{"duplicate", Change{EventID: "e2", Identities: []Identity{phone("new")}, ScoreDelta: 1}, 1},
		{"tags changed: plus one index pipeline", Change{Identities: []Identity{phone("new")}, AddTags: []string{"t"}}, 2},
		{"identity linked to another contact", Change{Identities: []Identity{openid("home")}, ScoreDelta: 1}, 2},
		{"two identities already together", Change{Identities: []Identity{phone("linked"), openid("home")}, ScoreDelta: 1}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt.Reset()
			if _, err := f.store.Apply(f.ctx, tt.change); err != nil {
				t.Fatal(err)
			}
			if got := rt.N(); got != tt.want {
				t.Errorf("round trips = %d; want %d", got, tt.want)
			}
		})
	}
	rt.Reset()
	if err := f.store.FlushActivity(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := rt.N(); got != 1 {
		t.Errorf("flushing the activity index took %d round trips; want 1", got)
	}
	id, err := f.store.Lookup(f.ctx, phone("new"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.ZScore(f.ctx, seenIndexKey, id).Err(); err != nil {
		t.Errorf("the new contact is not in the activity index after a flush: %v", err)
	}
}

// TestActivityIndexIsWrittenBehind: without a flush by hand the timer
// writes the entry within IndexFlush.
func TestActivityIndexIsWrittenBehind(t *testing.T) {
	f := newFixture(t, Options{IndexFlush: time.Millisecond})
	if _, err := f.store.Apply(f.ctx, Change{Identities: []Identity{phone("behind")}, Touch: true}); err != nil {
		t.Fatal(err)
	}
	id, err := f.store.Lookup(f.ctx, phone("behind"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.rdb.ZScore(f.ctx, seenIndexKey, id).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the activity index entry was not written behind the change")
		}
		time.Sleep(time.Millisecond)
	}
	if err := f.rdb.ZScore(f.ctx, decayIndexKey, id).Err(); err != nil {
		t.Errorf("no decay index entry: %v", err)
	}
}

func TestScriptsReloadAfterFlush(t *testing.T) {
	f := newFixture(t, Options{})
	f.apply(t, Change{Identities: []Identity{phone("1")}, AddTags: []string{"a"}})
	f.clock.Advance(time.Minute)
	f.apply(t, Change{Identities: []Identity{phone("2")}, AddTags: []string{"b"}})
	if err := f.rdb.ScriptFlush(f.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	got := f.apply(t, Change{EventID: "m", Identities: []Identity{phone("1"), phone("2"), phone("3")}, AddTags: []string{"c"}})
	want := Result{ContactID: IDFor(phone("1")), Merged: true, TagsAdded: []string{"c"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Apply after SCRIPT FLUSH (-want +got):\n%s", diff)
	}
	if err := f.rdb.ScriptFlush(f.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{IDFor(phone("1"))}, f.withTag(t, "b")); diff != "" {
		t.Errorf("tag index (-want +got):\n%s", diff)
	}
	if id, err := f.store.Lookup(f.ctx, phone("3")); err != nil || id != IDFor(phone("1")) {
		t.Errorf("Lookup after flush = %q, %v", id, err)
	}
}

func TestTouchRecordsLastInboundPerChannel(t *testing.T) {
	f := newFixture(t, Options{})
	oa := openid("o1")
	t1 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	f.apply(t, Change{Identities: []Identity{oa}, Touch: true, Channel: "officialaccount", At: t2})
	f.apply(t, Change{Identities: []Identity{oa}, Touch: true, Channel: "officialaccount", At: t1}) // a late, older event
	f.apply(t, Change{Identities: []Identity{oa}, Touch: true, At: t2.Add(time.Hour)})              // no channel
	c := f.get(t, IDFor(oa))
	if diff := cmp.Diff(map[string]time.Time{"officialaccount": t2}, c.LastInbound); diff != "" {
		t.Errorf("LastInbound (-want +got):\n%s", diff)
	}
	if _, err := f.store.Apply(f.ctx, Change{Identities: []Identity{oa}, Touch: true, Channel: "fax"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown channel: %v, want ErrInvalid", err)
	}
}
