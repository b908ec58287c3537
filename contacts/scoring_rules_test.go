package contacts

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseScoringShapes(t *testing.T) {
	const day = 24 * time.Hour
	good := `events:
  whitepaper_download: 10
  page_view: {points: 1, max: 10, window: 30d}
  trial_started: {points: 15, max: 1}
  unsubscribed: -20
decay: {after: 720h, percent: 10}
bands: {hot: 80, warm: 50}
`
	s, err := ParseScoring("scoring.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := Scoring{
		Events: map[string]Rule{
			"whitepaper_download": {Points: 10},
			"page_view":           {Points: 1, Max: 10, Window: 30 * day},
			"trial_started":       {Points: 15, Max: 1},
			"unsubscribed":        {Points: -20},
		},
		Bands: Bands{Hot: 80, Warm: 50},
		Decay: Decay{After: 30 * day, Percent: 10},
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("parsed rules (-want +got):\n%s", diff)
	}

	tests := []struct {
		name, yaml string
		want       []string // each must appear, with file and line
	}{
		{"window without max", "events:\n  a: {points: 1, window: 1d}\nbands: {hot: 80, warm: 50}\n", []string{"f.yaml:2: events.a.window needs max"}},
		{"missing points", "events:\n  a: {max: 3}\nbands: {hot: 80, warm: 50}\n", []string{"f.yaml:2: events.a needs points"}},
		{"unknown rule key", "events:\n  a:\n    points: 1\n    per: 1d\nbands: {hot: 80, warm: 50}\n", []string{"f.yaml:4: events.a.per is unknown"}},
		{"bad duration", "events:\n  a: {points: 1, max: 2, window: soon}\nbands: {hot: 80, warm: 50}\n", []string{`f.yaml:2: events.a.window must be a duration such as 30d or 720h, got "soon"`}},
		{"points not a number", "events:\n  a: lots\nbands: {hot: 80, warm: 50}\n", []string{`f.yaml:2: events.a must be a whole number, got "lots"`}},
		{"points out of range", "events:\n  a: 5000\nbands: {hot: 80, warm: 50}\n", []string{"f.yaml:2: events.a: 5000 points is outside -1000..1000"}},
		{"decay half given", "events: {}\ndecay: {percent: 10}\nbands: {hot: 80, warm: 50}\n", []string{"f.yaml:2: decay: give after (at least 1h, e.g. 30d) and percent"}},
		{"decay over 100", "events: {}\ndecay: {after: 30d, percent: 150}\nbands: {hot: 80, warm: 50}\n", []string{"f.yaml:2: decay:"}},
		{"bands reversed", "events: {}\nbands:\n  hot: 40\n  warm: 50\n", []string{"f.yaml:3: bands: need 0 < warm < hot, got warm 50 and hot 40"}},
		{"bands missing", "events: {a: 1}\n", []string{"f.yaml:1: bands are missing"}},
		{"unknown top key", "events: {}\nbands: {hot: 80, warm: 50}\nextra: 1\n", []string{`f.yaml:3: "extra" is unknown`}},
		{"every problem at once", "events:\n  Bad Name: 5\n  ok: 5000\nbands: {hot: 40, warm: 50}\n",
			[]string{`f.yaml:2: events: "Bad Name" is not an event type`, "f.yaml:3: events.ok: 5000 points", "f.yaml:4: bands:"}},
		{"not yaml", "events: [\n", []string{"f.yaml: yaml:"}},
		{"empty", "", []string{"f.yaml:0: the file is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScoring("f.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("ParseScoring accepted the file")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestBandOf(t *testing.T) {
	s := DefaultScoring()
	got := map[int]string{}
	for _, score := range []int{-5, 0, 49, 50, 79, 80, 500} {
		got[score] = s.Band(score)
	}
	want := map[int]string{-5: "cold", 0: "cold", 49: "cold", 50: "warm", 79: "warm", 80: "hot", 500: "hot"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bands (-want +got):\n%s", diff)
	}
}

func TestScoreCapEdges(t *testing.T) {
	const day = 24 * time.Hour
	f := newFixture(t, Options{})
	rolling := Rule{Points: 2, Max: 3, Window: 30 * day}
	lifetime := Rule{Points: 15, Max: 1}
	ev := func(n int, typ string, r Rule) int {
		t.Helper()
		res := f.apply(t, Change{EventID: typ + "-" + time.Duration(n).String(), Identities: []Identity{phone("13800000001")},
			ScoreDelta: r.Points, ScoreReason: ReasonRule, ScoreEvent: typ, ScoreCap: r.Cap(), Touch: true})
		return res.ScoreDelta
	}
	var got []int
	for n := range 4 { // the fourth in the same window scores nothing
		got = append(got, ev(n, "page_view", rolling))
		f.clock.Advance(time.Hour)
	}
	f.clock.Advance(30*day - 4*time.Hour) // the first has just left the window
	got = append(got, ev(10, "page_view", rolling))
	got = append(got, ev(11, "page_view", rolling)) // the second is still in it
	got = append(got, ev(20, "trial_started", lifetime))
	f.clock.Advance(400 * day)
	got = append(got, ev(21, "trial_started", lifetime)) // lifetime: never again
	if diff := cmp.Diff([]int{2, 2, 2, 0, 2, 0, 15, 0}, got); diff != "" {
		t.Errorf("points per event (-want +got):\n%s", diff)
	}
	id := IDFor(phone("13800000001"))
	if c := f.get(t, id); c.Score != 2*4+15 {
		t.Errorf("score = %d, want %d", c.Score, 2*4+15)
	}
	log, err := f.store.ScoreLog(f.ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 5 || log[0].EventType != "trial_started" || log[0].Points != 15 || log[0].Score != 23 || log[0].Reason != ReasonRule {
		t.Errorf("score log = %+v, want 5 scoring events, the trial first", log)
	}
}

func TestScoreLogIsBoundedNewestFirst(t *testing.T) {
	f := newFixture(t, Options{ScoreLogMax: 3})
	p := phone("13800000002")
	for n, ch := range []Change{
		{EventID: "w1", ScoreDelta: 10, ScoreReason: ReasonRule, Timeline: &Entry{Type: "whitepaper_download"}},
		{EventID: "w2", ScoreDelta: 20, ScoreReason: ReasonRule, ScoreEvent: "webinar_attended"},
		{EventID: "dlg:k1", ScoreDelta: -5, ScoreReason: ReasonAction},
		{ScoreDelta: 7},
		{EventID: "x", Fields: map[string]string{"a": "b"}}, // no score change: not logged
	} {
		ch.Identities = []Identity{p}
		f.apply(t, ch)
		f.clock.Advance(time.Duration(n+1) * time.Minute) // 0, 1, 3, 6, 10 minutes in
	}
	log, err := f.store.ScoreLog(f.ctx, IDFor(p), 0)
	if err != nil {
		t.Fatal(err)
	}
	t0 := newClock().Now()
	want := []ScoreEntry{
		{At: t0.Add(6 * time.Minute), EventType: "api", Points: 7, Reason: ReasonAPI, Score: 32},
		{At: t0.Add(3 * time.Minute), EventType: "action", EventID: "dlg:k1", Points: -5, Reason: ReasonAction, Score: 25},
		{At: t0.Add(time.Minute), EventType: "webinar_attended", EventID: "w2", Points: 20, Reason: ReasonRule, Score: 30},
	}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("score log (-want +got):\n%s", diff)
	}
	if _, err := f.store.Apply(f.ctx, Change{Identities: []Identity{p}, ScoreDelta: 1, ScoreReason: "luck"}); err == nil {
		t.Error("an unknown score reason was accepted")
	}
}

func FuzzParseScoring(f *testing.F) {
	f.Add([]byte("events:\n  whitepaper_download: 10\n  page_view: {points: 1, max: 10, window: 30d}\ndecay: {after: 720h, percent: 10}\nbands: {hot: 80, warm: 50}\n"))
	f.Add([]byte("events: {a: {points: 1, max: 1}}\nbands: {hot: 2, warm: 1}\n"))
	f.Add([]byte("bands: [1, 2]\n"))
	f.Add([]byte("events:\n  a: {points: -1000, window: 1m, max: 10000}\nbands: {hot: 80, warm: 50}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseScoring("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml:") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ParseScoring accepted rules Validate refuses: %v", err)
		}
	})
}
