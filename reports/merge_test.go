package reports

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/internal/testclock"
)

func TestContactsMergedMovesTheState(t *testing.T) {
	tests := []struct {
		name               string
		survivor, absorbed map[string]string
		want               map[string]string
	}{
		{
			name:     "the survivor had nothing",
			absorbed: map[string]string{"src": "qr:expo", "st": "mql", "since": "100", "cc": "spring", "cm": "m1", "ct": "200", "lm": "m1", "lc": "sms", "lt": "200"},
			want:     map[string]string{"src": "qr:expo", "st": "mql", "since": "100", "cc": "spring", "cm": "m1", "ct": "200", "lm": "m1", "lc": "sms", "lt": "200"},
		},
		{
			name:     "the later touch and message win whole; source and stage stay the survivor's",
			survivor: map[string]string{"src": "wecom:bench", "st": "sql", "since": "300", "cc": "winter", "cm": "m0", "ct": "50", "lm": "m9", "lc": "wecom", "lt": "900"},
			absorbed: map[string]string{"src": "qr:expo", "st": "mql", "since": "100", "cc": "spring", "cm": "m1", "ct": "200", "lm": "m1", "lc": "sms", "lt": "200", "uo:sms": "2026-11-20"},
			want:     map[string]string{"src": "wecom:bench", "st": "sql", "since": "300", "cc": "spring", "cm": "m1", "ct": "200", "lm": "m9", "lc": "wecom", "lt": "900", "uo:sms": "2026-11-20"},
		},
		{
			name:     "the absorbed contact had nothing",
			survivor: map[string]string{"src": "wecom:bench", "st": "prospect", "since": "1"},
			want:     map[string]string{"src": "wecom:bench", "st": "prospect", "since": "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReports(t, redistest.Client(t), testclock.New(time.Now()))
			ctx := t.Context()
			if len(tt.survivor) > 0 {
				must(t, r.rdb.HSet(ctx, contactStateKey("s"), tt.survivor).Err())
			}
			if len(tt.absorbed) > 0 {
				must(t, r.rdb.HSet(ctx, contactStateKey("a"), tt.absorbed).Err())
			}
			for range 2 { // a repeat (a crash before the old state went) changes nothing more
				r.ContactsMerged(ctx, "s", "a")
				if len(tt.absorbed) > 0 {
					must(t, r.rdb.HSet(ctx, contactStateKey("a"), tt.absorbed).Err())
				}
			}
			r.ContactsMerged(ctx, "s", "a")
			got, err := r.rdb.HGetAll(ctx, contactStateKey("s")).Result()
			must(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("survivor's report state (-want +got):\n%s", diff)
			}
			if n := r.rdb.Exists(ctx, contactStateKey("a")).Val(); n != 0 {
				t.Error("the absorbed contact's report state is still there")
			}
		})
	}
}
