package contacts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/internal/redistest"
)

const day = 24 * time.Hour

// sweepSilent runs the silence sweep and returns whom it silenced.
func (f *fixture) sweepSilent(t *testing.T, after time.Duration) []string {
	t.Helper()
	var got []string
	if _, err := f.store.SweepSilent(f.ctx, after, 100, func(_ context.Context, s Silenced) error {
		got = append(got, s.ContactID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSilenceSweep(t *testing.T) {
	f := newFixture(t, Options{})
	a, b := phone("13800000001"), phone("13800000002")
	idA, idB := IDFor(a), IDFor(b)
	f.apply(t, Change{Identities: []Identity{a}, Touch: true})
	f.clock.Advance(2 * day)
	f.apply(t, Change{Identities: []Identity{b}, Touch: true})
	f.clock.Advance(29 * day) // a: 31 days quiet, b: 29

	steps := []struct {
		name    string
		advance time.Duration
		touch   []Identity
		want    []string
		states  map[string]string
	}{
		{"31 days quiet is silent, 29 is not", 0, nil, []string{idA}, map[string]string{idA: "silent", idB: "active"}},
		{"a second sweep finds nothing new", 0, nil, nil, map[string]string{idA: "silent", idB: "active"}},
		{"the returning customer is active again", time.Hour, []Identity{a}, nil, map[string]string{idA: "active", idB: "active"}},
		{"two days later b is due", 2 * day, nil, []string{idB}, map[string]string{idA: "active", idB: "silent"}},
		{"a goes quiet again after its return", 29 * day, nil, []string{idA}, map[string]string{idA: "silent", idB: "silent"}},
	}
	for _, st := range steps {
		f.clock.Advance(st.advance)
		for _, id := range st.touch {
			r := f.apply(t, Change{Identities: []Identity{id}, Touch: true})
			if r.ActivityBefore != ActivitySilent {
				t.Errorf("%s: ActivityBefore = %q, want silent", st.name, r.ActivityBefore)
			}
		}
		got := f.sweepSilent(t, 30*day)
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("%s: silenced (-want +got):\n%s", st.name, diff)
		}
		states := map[string]string{idA: f.get(t, idA).Activity, idB: f.get(t, idB).Activity}
		if diff := cmp.Diff(st.states, states); diff != "" {
			t.Errorf("%s: activity (-want +got):\n%s", st.name, diff)
		}
	}
	var changes int
	for _, e := range f.timeline(t, idA) {
		if e.Type == TypeActivityChanged && e.Props["activity"] == ActivitySilent {
			changes++
		}
	}
	if changes != 2 {
		t.Errorf("a's timeline has %d activity_changed entries, want 2 (one per silence)", changes)
	}
}

func TestSilenceFollowUpIsRepeatedUntilItSucceeds(t *testing.T) {
	f := newFixture(t, Options{})
	a := phone("13800000003")
	f.apply(t, Change{Identities: []Identity{a}, Touch: true})
	seen := f.clock.Now()
	f.clock.Advance(31 * day)
	var offered []Silenced
	fail := errors.New("dialogs down")
	_, err := f.store.SweepSilent(f.ctx, 30*day, 10, func(_ context.Context, s Silenced) error {
		offered = append(offered, s)
		return fail
	})
	if !errors.Is(err, fail) {
		t.Fatalf("sweep error = %v, want the follow-up's", err)
	}
	got := f.sweepSilent(t, 30*day)
	want := Silenced{ContactID: IDFor(a), Since: seen}
	if diff := cmp.Diff([]Silenced{want, want}, append(offered, Silenced{ContactID: got[0], Since: seen})); diff != "" {
		t.Errorf("offers (-want +got):\n%s", diff)
	}
	if again := f.sweepSilent(t, 30*day); len(again) != 0 {
		t.Errorf("offered again after success: %v", again)
	}
}

func TestDecaySweep(t *testing.T) {
	rules := DefaultScoring() // -10 % per 30 days quiet, hot 80, warm 50
	f := newFixture(t, Options{DecayAfter: rules.Decay.After})
	p := phone("13800000004")
	id := IDFor(p)
	f.apply(t, Change{Identities: []Identity{p}, Touch: true, ScoreDelta: 100, Stage: StageSQL})
	sweep := func() []Decayed {
		t.Helper()
		var got []Decayed
		if _, err := f.store.SweepDecay(f.ctx, rules, 100, func(_ context.Context, d Decayed) error {
			got = append(got, d)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    []Decayed
		score   int
	}{
		{"29 days: nothing", 29 * day, nil, 100},
		{"30 days: -10 %", day, []Decayed{{id, 100, 90, "hot", "hot"}}, 90},
		{"same period again: nothing", time.Hour, nil, 90},
		{"two periods missed at once (90, 81, 72: losses round up)", 61 * day, []Decayed{{id, 90, 72, "hot", "warm"}}, 72},
	}
	for _, st := range steps {
		f.clock.Advance(st.advance)
		if diff := cmp.Diff(st.want, sweep()); diff != "" {
			t.Errorf("%s: decayed (-want +got):\n%s", st.name, diff)
		}
		if c := f.get(t, id); c.Score != st.score || c.Stage != StageSQL {
			t.Errorf("%s: score %d stage %s, want %d and sql (decay never moves the stage)", st.name, c.Score, c.Stage, st.score)
		}
	}
	// Activity starts the count again.
	f.apply(t, Change{Identities: []Identity{p}, Touch: true})
	f.clock.Advance(29 * day)
	if got := sweep(); len(got) != 0 {
		t.Errorf("decayed 29 days after activity: %+v", got)
	}
	var bands []map[string]string
	for _, e := range f.timeline(t, id) {
		if e.Type == TypeScoreBandChanged {
			bands = append(bands, e.Props)
		}
	}
	if diff := cmp.Diff([]map[string]string{{"from": "hot", "to": "warm", "score": "72", "reason": "decay"}}, bands); diff != "" {
		t.Errorf("band changes on the timeline (-want +got):\n%s", diff)
	}
	log, err := f.store.ScoreLog(f.ctx, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Points != -18 || log[0].Reason != ReasonDecay || log[1].Points != -10 {
		t.Errorf("score log = %+v, want the two decays newest first", log)
	}
}

func TestDecayStopsAtZero(t *testing.T) {
	rules := Scoring{Bands: Bands{Hot: 80, Warm: 50}, Decay: Decay{After: day, Percent: 60}}
	f := newFixture(t, Options{DecayAfter: day})
	p := phone("13800000005")
	f.apply(t, Change{Identities: []Identity{p}, ScoreDelta: 3})
	var scores []int
	for range 4 {
		f.clock.Advance(day)
		if _, err := f.store.SweepDecay(f.ctx, rules, 10, func(context.Context, Decayed) error { return nil }); err != nil {
			t.Fatal(err)
		}
		scores = append(scores, f.get(t, IDFor(p)).Score)
	}
	if diff := cmp.Diff([]int{1, 0, 0, 0}, scores); diff != "" {
		t.Errorf("scores per day (-want +got):\n%s", diff)
	}
	if n, err := f.rdb.ZCard(f.ctx, decayIndexKey).Result(); err != nil || n != 0 {
		t.Errorf("decay index holds %d entries (%v); a zero score leaves it", n, err)
	}
}

// The sweeps pipeline scripts over contacts in many slots and keep their
// index under one hash tag: both must hold on Redis Cluster.
func TestSweepsOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	rdb := redistest.Cluster(t)
	clk := newClock()
	rules := DefaultScoring()
	s, err := NewStore(rdb, Options{Now: clk.Now, DecayAfter: rules.Decay.After})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: s, clock: clk, ctx: t.Context()}
	var ids []string
	for n := range 20 {
		r := f.apply(t, Change{EventID: fmt.Sprint("e", n), Identities: []Identity{phone(fmt.Sprint(13800000100 + n))}, Touch: true,
			ScoreDelta: 90, ScoreReason: ReasonRule, ScoreEvent: "webinar_attended", ScoreCap: ScoreCap{Max: 1, Window: day}})
		ids = append(ids, r.ContactID)
	}
	clk.Advance(31 * day)
	silenced := f.sweepSilent(t, 30*day)
	var decayed []string
	if _, err := s.SweepDecay(f.ctx, rules, 100, func(_ context.Context, d Decayed) error {
		decayed = append(decayed, d.ContactID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	slices.Sort(silenced)
	slices.Sort(decayed)
	if diff := cmp.Diff(ids, silenced); diff != "" {
		t.Errorf("silenced (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ids, decayed); diff != "" {
		t.Errorf("decayed (-want +got):\n%s", diff)
	}
	log, err := s.ScoreLog(f.ctx, ids[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Score != 81 || log[1].Score != 90 {
		t.Errorf("score log = %+v, want the event and one decay", log)
	}
}
