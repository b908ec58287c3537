package outreach

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
)

// BenchmarkEraseWalk measures what an erasure or export pays to find a
// person's outreach records in a keyspace of 100,000 message records of
// other people plus the person's 10: the walk (SCAN plus a pipelined read
// per candidate) against a bare SCAN of the same keyspace, alternating
// over three rounds in the same run. The metrics are medians.
// Run: go test -run '^$' -bench EraseWalk -benchtime 1x ./outreach
func BenchmarkEraseWalk(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Client(b)
	p, err := New(rdb, noContacts{}, renderer{orders: map[string][]channels.Channel{}}, nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	const others = 100_000
	for i := 0; i < others; i += 1000 {
		_, err := rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for j := i; j < i+1000; j++ {
				pipe.HSet(ctx, messageKey(fmt.Sprintf("m-%d", j)), "id", fmt.Sprintf("m-%d", j), "contact_id", fmt.Sprintf("c%015d", j), "status", "sent")
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	a := contacts.IDFor(phoneA)
	for i := range 10 {
		rdb.HSet(ctx, messageKey(fmt.Sprintf("mine-%d", i)), "contact_id", a, "status", "sent")
	}
	var base, walk, ratio []float64
	for range 3 {
		start := time.Now()
		n := 0
		if err := scanAll(ctx, rdb, func(_ redis.UniversalClient, keys []string) error { n += len(keys); return nil }); err != nil {
			b.Fatal(err)
		}
		bt := time.Since(start).Seconds()
		start = time.Now()
		fp, err := p.find(ctx, []string{a}, []string{phoneA.Value})
		if err != nil {
			b.Fatal(err)
		}
		wt := time.Since(start).Seconds()
		if len(fp.messages) != 10 || n < others {
			b.Fatalf("found %d messages in %d keys", len(fp.messages), n)
		}
		base, walk, ratio = append(base, bt*1000), append(walk, wt*1000), append(ratio, wt/bt)
	}
	b.ReportMetric(benchMedian(base), "scan-ms")
	b.ReportMetric(benchMedian(walk), "walk-ms")
	b.ReportMetric(benchMedian(ratio), "ratio")
}

// noContacts satisfies Contacts for a pipeline that never sends.
type noContacts struct{}

func (noContacts) Apply(context.Context, contacts.Change) (contacts.Result, error) {
	return contacts.Result{}, nil
}
func (noContacts) Get(context.Context, string) (*contacts.Contact, error) {
	return nil, contacts.ErrNotFound
}
func (noContacts) Lookup(context.Context, contacts.Identity) (string, error) {
	return "", contacts.ErrNotFound
}
