package reports

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/internal/testclock"
	"github.com/journeygate/gateway/outreach"
)

var _ outreach.PipelineObserver = (*Reports)(nil)

// TestQueueMessageWritesWhatObserveMessageDoes: the send pipeline's
// one-round-trip path leaves Redis exactly as the direct call does, and
// queues nothing for an outcome the reports do not count.
func TestQueueMessageWritesWhatObserveMessageDoes(t *testing.T) {
	events := []outreach.MessageEvent{
		{MessageID: "spring-c1", ContactID: "c1", Campaign: "spring", Channel: "sms", Stat: StatSent, At: at(2, 12, 0)},
		{MessageID: "spring-c1", ContactID: "c1", Campaign: "spring", Channel: "sms", Stat: StatDelivered, At: at(2, 12, 1)},
		{MessageID: "m3", ContactID: "c3", Channel: "email", Stat: StatSent, At: at(2, 13, 0)},
		{MessageID: "m4", ContactID: "c3", Channel: "none", Stat: "capped", At: at(2, 13, 0)},
	}
	clock := testclock.New(at(2, 14, 0))
	direct, piped := redistest.Client(t), redistest.Client(t)
	rd, rp := newReports(t, direct, clock), newReports(t, piped, clock)
	ctx := t.Context()
	for _, e := range events {
		must(t, rd.ObserveMessage(ctx, e))
		pipe := piped.Pipeline()
		rp.QueueMessage(ctx, pipe, e)
		if e.Stat == "capped" && pipe.Len() != 0 {
			t.Errorf("a capped outcome queued %d commands, want none", pipe.Len())
		}
		if pipe.Len() > 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := redistest.Snapshot(t, direct, "*")
	if len(want) == 0 {
		t.Fatal("ObserveMessage wrote nothing")
	}
	if diff := cmp.Diff(want, redistest.Snapshot(t, piped, "*")); diff != "" {
		t.Errorf("QueueMessage state (-want +got):\n%s", diff)
	}
}
