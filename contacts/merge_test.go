package contacts

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mergeScene builds two contacts that disagree on everything a merge rule
// decides: A (older, phone) and B (newer, openid).
type mergeScene struct {
	t0         time.Time
	a, b       Identity
	idA, idB   string
	wantMerged *Contact
	wantTL     []Entry // A's timeline after the merge change, newest first
	merge      Change
}

func buildMergeScene(t *testing.T, f *fixture) *mergeScene {
	t.Helper()
	s := &mergeScene{t0: f.clock.Now(), a: phone("13800000000"), b: openid("o-li")}
	s.idA, s.idB = IDFor(s.a), IDFor(s.b)
	m := func(d time.Duration) time.Time { return s.t0.Add(d) }
	// A at t0 and t0+2m.
	f.apply(t, Change{EventID: "a-1", Identities: []Identity{s.a}, AddTags: []string{"a", "shared"}, ScoreDelta: 30,
		Owner: "rep-a", Stage: "mql", Fields: map[string]string{"city": "上海"}, Timeline: &Entry{Type: "a1"}})
	f.clock.Advance(time.Minute)
	// B at t0+1m, t0+3m, t0+4m.
	f.apply(t, Change{EventID: "b-1", Identities: []Identity{s.b}, AddTags: []string{"b", "shared"}, ScoreDelta: 50,
		Owner: "rep-b", Name: "李雷", Stage: "sql", TZ: "Asia/Shanghai",
		Fields: map[string]string{"city": "北京", "company": "ACME"}, Timeline: &Entry{Type: "b1"}})
	f.clock.Advance(time.Minute)
	f.apply(t, Change{EventID: "a-2", Identities: []Identity{s.a}, Timeline: &Entry{Type: "a2"},
		Consent: []ConsentChange{{"sms", "opted_in", "form A"}, {"email", "opted_in", "form A email"}}})
	f.clock.Advance(time.Minute)
	f.apply(t, Change{EventID: "b-2", Identities: []Identity{s.b}, Touch: true, Timeline: &Entry{Type: "b2"},
		Consent: []ConsentChange{{"sms", "opted_out", "SMS reply TD"}}, Unreachable: []string{"email"}})
	f.clock.Advance(time.Minute)
	f.apply(t, Change{EventID: "b-3", Identities: []Identity{s.b}, Activity: "silent"})
	f.clock.Advance(6 * time.Minute)

	s.merge = Change{EventID: "m-1", Identities: []Identity{s.a, s.b, email("Li@Example.com")}, Timeline: &Entry{Type: "merged"}}
	s.wantMerged = &Contact{
		ID:         s.idA,
		Identities: map[string][]string{"phone": {"13800000000"}, "openid": {"o-li"}, "email": {"li@example.com"}},
		Tags:       []string{"a", "b", "shared"},
		Stage:      "sql",    // furthest along
		Activity:   "silent", // from B, seen more recently
		Score:      50,       // the higher
		Owner:      "rep-a",  // the survivor's
		Name:       "李雷",     // the survivor had none
		Consent:    consent("sms", "opted_out", "email", "opted_in"),
		ConsentSource: map[string]string{
			"sms":   "SMS reply TD", // opted_out wins, with its source
			"email": "form A email", // opted_in beats unknown
		},
		Unreachable: []string{"email"},
		Fields:      map[string]string{"city": "上海", "company": "ACME"},
		TZ:          "Asia/Shanghai",
		CreatedAt:   m(0),
		LastSeen:    m(3 * time.Minute),
	}
	consentEntry := func(at time.Time, ch, st, src string) Entry {
		return Entry{At: at, Type: TypeConsent, Source: src, Props: map[string]string{"channel": ch, "status": st}}
	}
	s.wantTL = []Entry{
		{At: m(10 * time.Minute), Type: "merged"},
		consentEntry(m(3*time.Minute), "sms", "opted_out", "SMS reply TD"),
		{At: m(3 * time.Minute), Type: "b2"},
		consentEntry(m(2*time.Minute), "email", "opted_in", "form A email"),
		consentEntry(m(2*time.Minute), "sms", "opted_in", "form A"),
		{At: m(2 * time.Minute), Type: "a2"},
		{At: m(time.Minute), Type: "b1"},
		{At: m(0), Type: "a1"},
	}
	return s
}

func (s *mergeScene) check(t *testing.T, f *fixture) {
	t.Helper()
	if diff := cmp.Diff(s.wantMerged, f.get(t, s.idA)); diff != "" {
		t.Errorf("Get(survivor) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(s.wantMerged, f.get(t, s.idB)); diff != "" {
		t.Errorf("Get(merged id) should follow the link (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(s.wantTL, f.timeline(t, s.idA)); diff != "" {
		t.Errorf("merged timeline (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(s.wantTL, f.timeline(t, s.idB)); diff != "" {
		t.Errorf("Timeline(merged id) (-want +got):\n%s", diff)
	}
	for _, i := range []Identity{s.a, s.b, email("li@example.com")} {
		got, err := f.store.Lookup(f.ctx, i)
		if err != nil || got != s.idA {
			t.Errorf("Lookup(%v) = %q, %v; want %q", i, got, err, s.idA)
		}
	}
	idx := map[string][]string{}
	for _, tag := range []string{"a", "b", "shared"} {
		idx[tag] = f.withTag(t, tag)
	}
	want := map[string][]string{"a": {s.idA}, "b": {s.idA}, "shared": {s.idA}}
	if diff := cmp.Diff(want, idx); diff != "" {
		t.Errorf("tag index (-want +got):\n%s", diff)
	}
	wantLog := []ScoreEntry{
		{At: s.t0.Add(time.Minute), EventType: "b1", EventID: "b-1", Points: 50, Reason: ReasonAPI, Score: 50},
		{At: s.t0, EventType: "a1", EventID: "a-1", Points: 30, Reason: ReasonAPI, Score: 30},
	}
	if log, err := f.store.ScoreLog(f.ctx, s.idA, 0); err != nil {
		t.Error(err)
	} else if diff := cmp.Diff(wantLog, log); diff != "" {
		t.Errorf("the survivor's score log holds both contacts' changes by time (-want +got):\n%s", diff)
	}
	k := keysFor(s.idB)
	if n, err := f.rdb.Exists(f.ctx, k.hash, k.tags, k.ids, k.tl, k.evs, k.tagv, k.tagp, scoreLogKey(s.idB)).Result(); err != nil || n != 0 {
		t.Errorf("the merged contact keeps %d data keys (%v); want them deleted", n, err)
	}
	if got, err := f.rdb.Get(f.ctx, k.link).Result(); err != nil || got != s.idA {
		t.Errorf("link of the merged contact = %q, %v; want %q", got, err, s.idA)
	}
}

func TestMergeTwoContacts(t *testing.T) {
	f := newFixture(t, Options{})
	s := buildMergeScene(t, f)
	got := f.apply(t, s.merge)
	if diff := cmp.Diff(Result{ContactID: s.idA, Merged: true, Score: 50}, got); diff != "" {
		t.Errorf("Apply(merge) (-want +got):\n%s", diff)
	}
	s.check(t, f)

	// B's events stay de-duplicated after the merge.
	tests := []struct {
		name   string
		change Change
		want   Result
	}{
		{"B's old event via B's identity", Change{EventID: "b-2", Identities: []Identity{s.b}, ScoreDelta: 100}, Result{ContactID: s.idA, Duplicate: true, Score: 50}},
		{"A's old event via B's identity", Change{EventID: "a-1", Identities: []Identity{s.b}, ScoreDelta: 100}, Result{ContactID: s.idA, Duplicate: true, Score: 50}},
		{"new event via B's identity lands on A", Change{EventID: "b-9", Identities: []Identity{s.b}, ScoreDelta: 1}, Result{ContactID: s.idA, Score: 51, ScoreDelta: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, f.apply(t, tt.change)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeIsIdempotent(t *testing.T) {
	f := newFixture(t, Options{})
	s := buildMergeScene(t, f)
	first := f.apply(t, s.merge)
	before := f.dump(t)
	f.clock.Advance(time.Minute)
	second := f.apply(t, s.merge)
	if diff := cmp.Diff(Result{ContactID: s.idA, Duplicate: true, Score: first.Score}, second); diff != "" {
		t.Errorf("second Apply (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, f.dump(t)); diff != "" {
		t.Errorf("the repeated merge changed Redis (-want +got):\n%s", diff)
	}
	s.check(t, f)
}

// A crash after the survivor absorbed the loser, before the loser was
// linked: both contacts stay reachable, and running the change again
// completes the merge without duplicating anything.
func TestMergeResumesAfterCrash(t *testing.T) {
	f := newFixture(t, Options{})
	s := buildMergeScene(t, f)
	absorbOnly(t, f, s)
	// "Crash" here. Every identity still resolves; B keeps its data.
	for _, tt := range []struct {
		i    Identity
		want string
	}{{s.a, s.idA}, {s.b, s.idB}} {
		if got, err := f.store.Lookup(f.ctx, tt.i); err != nil || got != tt.want {
			t.Errorf("Lookup(%v) after crash = %q, %v; want %q", tt.i, got, err, tt.want)
		}
	}
	if got := f.get(t, s.idB); got.Score != 50 || got.Name != "李雷" {
		t.Errorf("B after crash = %+v; want its data intact", got)
	}
	// B changes before the merge is retried: the change must survive.
	f.apply(t, Change{EventID: "b-4", Identities: []Identity{s.b}, AddTags: []string{"late"}})
	// The crashed merge's tag index duty for A lapses; the retry repairs it.
	f.clock.Advance(tagLease + time.Second)
	s.wantTL[0].At = f.clock.Now()
	got := f.apply(t, s.merge)
	if diff := cmp.Diff(Result{ContactID: s.idA, Merged: true, Score: 50}, got); diff != "" {
		t.Errorf("Apply(merge) (-want +got):\n%s", diff)
	}
	s.wantMerged.Tags = []string{"a", "b", "late", "shared"}
	s.check(t, f)
	if diff := cmp.Diff([]string{s.idA}, f.withTag(t, "late")); diff != "" {
		t.Errorf("index of a tag added between crash and retry (-want +got):\n%s", diff)
	}
}

// The loser changing between snapshot and retire makes retire refuse, so
// the change cannot be deleted unseen.
func TestRetireRefusesChangedLoser(t *testing.T) {
	f := newFixture(t, Options{})
	s := buildMergeScene(t, f)
	snap, _, err := f.store.snapshot(f.ctx, s.idB, s.idA)
	if err != nil || snap == nil {
		t.Fatalf("snapshot: %v", err)
	}
	f.apply(t, Change{Identities: []Identity{s.b}, ScoreDelta: 1})
	_, ok, err := f.store.retireLoser(f.ctx, s.idB, s.idA, snap.hash["v"])
	if err != nil || ok {
		t.Fatalf("retire after a change = %v, %v; want refused", ok, err)
	}
	if got := f.get(t, s.idB); got.ID != s.idB || got.Score != 51 {
		t.Errorf("B after refused retire = %+v; want intact with score 51", got)
	}
}

func TestMergeChain(t *testing.T) {
	f := newFixture(t, Options{})
	a, b, c := phone("1"), openid("o-2"), email("c@x.cn")
	for n, i := range []Identity{a, b, c} {
		f.apply(t, Change{EventID: fmt.Sprint("create-", n), Identities: []Identity{i}, AddTags: []string{fmt.Sprint("t", n)}, ScoreDelta: 10 * (n + 1)})
		f.clock.Advance(time.Minute)
	}
	idA, idB, idC := IDFor(a), IDFor(b), IDFor(c)
	steps := []struct {
		name   string
		change Change
		want   Result
	}{
		{"c into b", Change{EventID: "m1", Identities: []Identity{c, b}}, Result{ContactID: idB, Merged: true, Score: 30}},
		{"b into a", Change{EventID: "m2", Identities: []Identity{b, a}}, Result{ContactID: idA, Merged: true, Score: 30}},
		{"c alone reaches a", Change{EventID: "e3", Identities: []Identity{c}, ScoreDelta: 1}, Result{ContactID: idA, Score: 31, ScoreDelta: 1}},
		{"c's first event is still a duplicate", Change{EventID: "create-2", Identities: []Identity{c}, ScoreDelta: 1}, Result{ContactID: idA, Duplicate: true, Score: 31}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if diff := cmp.Diff(st.want, f.apply(t, st.change)); diff != "" {
				t.Errorf("Apply (-want +got):\n%s", diff)
			}
		})
	}
	for _, i := range []Identity{a, b, c} {
		if got, err := f.store.Lookup(f.ctx, i); err != nil || got != idA {
			t.Errorf("Lookup(%v) = %q, %v; want %q", i, got, err, idA)
		}
	}
	for _, id := range []string{idB, idC} {
		if got := f.get(t, id); got.ID != idA {
			t.Errorf("Get(%s).ID = %s; want %s", id, got.ID, idA)
		}
		// Links point straight at the survivor: no chains left.
		if got, _ := f.rdb.Get(f.ctx, keysFor(id).link).Result(); got != idA {
			t.Errorf("link of %s = %q; want %q", id, got, idA)
		}
	}
	want := map[string][]string{"t0": {idA}, "t1": {idA}, "t2": {idA}}
	got := map[string][]string{}
	for tag := range want {
		got[tag] = f.withTag(t, tag)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tag index (-want +got):\n%s", diff)
	}
}

// A chain left by an old merge (x -> y -> z) still resolves and is
// compressed by the first lookup that walks it.
func TestLookupCompressesChains(t *testing.T) {
	f := newFixture(t, Options{})
	z := IDFor(phone("z"))
	f.apply(t, Change{Identities: []Identity{phone("z")}})
	x, y := IDFor(phone("x")), IDFor(phone("y"))
	f.rdb.Set(f.ctx, keysFor(x).link, y, 0)
	f.rdb.Set(f.ctx, keysFor(y).link, z, 0)
	if got, err := f.store.Lookup(f.ctx, phone("x")); err != nil || got != z {
		t.Fatalf("Lookup through a chain = %q, %v; want %q", got, err, z)
	}
	if got, _ := f.rdb.Get(f.ctx, keysFor(x).link).Result(); got != z {
		t.Errorf("link of x after lookup = %q; want it compressed to %q", got, z)
	}
	// A loop is reported, not followed forever.
	f.rdb.Set(f.ctx, keysFor(z).link, x, 0)
	if _, err := f.store.Lookup(f.ctx, phone("y")); err == nil {
		t.Error("Lookup in a link loop succeeded; want an error")
	}
	if _, err := f.store.Apply(f.ctx, Change{Identities: []Identity{phone("y")}}); err == nil {
		t.Error("Apply in a link loop succeeded; want an error")
	}
}

func TestNewContactWithSeveralIdentities(t *testing.T) {
	f := newFixture(t, Options{})
	p, e := phone("13800000000"), email("x@y.cn")
	got := f.apply(t, Change{Identities: []Identity{p, e}, ScoreDelta: 5})
	if diff := cmp.Diff(Result{ContactID: IDFor(p), Created: true, Score: 5, ScoreDelta: 5}, got); diff != "" {
		t.Errorf("Apply (-want +got):\n%s", diff)
	}
	if id, err := f.store.Lookup(f.ctx, e); err != nil || id != IDFor(p) {
		t.Errorf("Lookup(email) = %q, %v; want %q", id, err, IDFor(p))
	}
	// Without an EventID the same change applies again (not a duplicate).
	again := f.apply(t, Change{Identities: []Identity{e, p}, ScoreDelta: 5})
	if diff := cmp.Diff(Result{ContactID: IDFor(p), Score: 10, ScoreDelta: 5}, again); diff != "" {
		t.Errorf("second Apply (-want +got):\n%s", diff)
	}
	// A third identity joins the existing contact.
	third := f.apply(t, Change{Identities: []Identity{e, openid("o")}})
	if diff := cmp.Diff(Result{ContactID: IDFor(p), Score: 10}, third); diff != "" {
		t.Errorf("third Apply (-want +got):\n%s", diff)
	}
	want := map[string][]string{"phone": {"13800000000"}, "email": {"x@y.cn"}, "openid": {"o"}}
	if diff := cmp.Diff(want, f.get(t, IDFor(p)).Identities); diff != "" {
		t.Errorf("identities (-want +got):\n%s", diff)
	}
}

func TestMergedTimelineIsBounded(t *testing.T) {
	f := newFixture(t, Options{TimelineMax: 4})
	a, b := phone("a"), phone("b")
	var want []Entry
	for n := range 6 {
		i := a
		if n%2 == 1 {
			i = b
		}
		at := f.clock.Advance(time.Minute)
		f.apply(t, Change{Identities: []Identity{i}, Timeline: &Entry{Type: "step", Text: fmt.Sprint(n)}})
		want = append([]Entry{{At: at, Type: "step", Text: fmt.Sprint(n)}}, want...)
	}
	f.apply(t, Change{Identities: []Identity{a, b}})
	if diff := cmp.Diff(want[:4], f.timeline(t, IDFor(a))); diff != "" {
		t.Errorf("merged timeline (-want +got):\n%s", diff)
	}
}

// mergeLog records what a MergeObserver is told.
type mergeLog struct {
	mu    sync.Mutex
	calls [][2]string // survivor, absorbed
}

func (m *mergeLog) ContactsMerged(_ context.Context, survivor, absorbed string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, [2]string{survivor, absorbed})
}

func TestMergeTellsTheObserverOnce(t *testing.T) {
	log := &mergeLog{}
	f := newFixture(t, Options{Merges: log})
	s := buildMergeScene(t, f)
	f.apply(t, s.merge)
	f.apply(t, s.merge) // a repeat merges nothing more
	if diff := cmp.Diff([][2]string{{s.idA, s.idB}}, log.calls); diff != "" {
		t.Errorf("merges told (-want +got):\n%s", diff)
	}
}

// A merge whose process died after retiring the loser, before telling the
// observer, tells it when the merge is run again.
func TestRetriedMergeTellsTheObserver(t *testing.T) {
	log := &mergeLog{}
	f := newFixture(t, Options{Merges: log})
	s := buildMergeScene(t, f)
	snap := absorbOnly(t, f, s)
	if _, ok, err := f.store.retireLoser(f.ctx, s.idB, s.idA, snap.hash["v"]); err != nil || !ok {
		t.Fatalf("retire: %v, %v", ok, err)
	}
	// "Crash" here: the observer was not told.
	if _, _, err := f.store.mergeInto(f.ctx, s.idB, s.idA); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][2]string{{s.idA, s.idB}}, log.calls); diff != "" {
		t.Errorf("merges told (-want +got):\n%s", diff)
	}
}

// absorbOnly runs the first two steps of merging B into A, as a merge that
// dies before retiring B leaves it.
func absorbOnly(t *testing.T, f *fixture, s *mergeScene) *snapshotData {
	t.Helper()
	snap, _, err := f.store.snapshot(f.ctx, s.idB, s.idA)
	if err != nil || snap == nil {
		t.Fatalf("snapshot: %v", err)
	}
	if _, _, ok, err := f.store.absorbSnapshot(f.ctx, s.idA, snap); err != nil || !ok {
		t.Fatalf("absorb: %v, %v", ok, err)
	}
	return snap
}
