package contacts

import (
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkApply measures the callback hot path: one identity, a new event
// id each time, a score change and a timeline entry, against a real Redis.
func BenchmarkApply(b *testing.B) {
	f := newFixture(b, Options{})
	i := []Identity{openid("o-bench")}
	entry := &Entry{Type: "message", Text: "你好"}
	n := 0
	for b.Loop() {
		n++
		_, err := f.store.Apply(f.ctx, Change{EventID: "wx:" + strconv.Itoa(n), Identities: i, Touch: true, ScoreDelta: 1, Timeline: entry})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyParallel is the same with concurrent callers on many
// contacts, as a busy gateway sees it.
func BenchmarkApplyParallel(b *testing.B) {
	f := newFixture(b, Options{})
	entry := &Entry{Type: "message", Text: "你好"}
	var seq atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			i := []Identity{openid("o-" + strconv.FormatInt(n%1000, 10))}
			_, err := f.store.Apply(f.ctx, Change{EventID: "wx:" + strconv.FormatInt(n, 10), Identities: i, Touch: true, ScoreDelta: 1, Timeline: entry})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
