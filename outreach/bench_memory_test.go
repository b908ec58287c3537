package outreach

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
)

// BenchmarkMemoryPerScheduledMessage sizes Redis for reminders and
// campaigns waiting to go: 20,000 messages scheduled a day ahead (the
// message record plus its asynq task), used_memory divided by the count.
// Run with -benchtime 1x.
func BenchmarkMemoryPerScheduledMessage(b *testing.B) {
	const n, batch = 20_000, 500
	rdb := redistest.Client(b)
	store, err := contacts.NewStore(rdb, contacts.Options{})
	if err != nil {
		b.Fatal(err)
	}
	p, err := New(rdb, store, renderer{}, nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	memory := func() int64 {
		for _, line := range strings.Split(rdb.Info(b.Context(), "memory").Val(), "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				m, _ := strconv.ParseInt(v, 10, 64)
				return m
			}
		}
		b.Fatal("no used_memory in INFO")
		return 0
	}
	before := memory()
	for start := 0; start < n; start += batch {
		items := make([]BatchItem, batch)
		for i := range items {
			id := fmt.Sprintf("c%07d", start+i)
			items[i] = BatchItem{ID: "nov-" + id, ContactID: id, Template: "webinar_reminder", Variant: "main",
				Vars: map[string]any{"campaign": "nov", "variant": "main", "title": "私域增长实战"}}
		}
		if _, err := p.SubmitBatch(b.Context(), Batch{Items: items, Purpose: channels.Marketing, Channel: channels.SMS,
			SendAt: time.Now().Add(24 * time.Hour), Campaign: "nov"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(memory()-before)/n, "bytes/message")
}
