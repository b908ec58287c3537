package contacts

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/redistest"
)

// BenchmarkMemoryPerContact sizes Redis for N contacts: 100,000 contacts,
// each created by a typical first event (an identity, a tag, consent with
// its source, a timeline entry, the de-dup id), then Redis's used_memory
// divided by the count. Run with -benchtime 1x.
func BenchmarkMemoryPerContact(b *testing.B) {
	const n = 100_000
	rdb := redistest.Client(b)
	s, err := NewStore(rdb, Options{})
	if err != nil {
		b.Fatal(err)
	}
	before := usedMemory(b, rdb.Info(b.Context(), "memory").Val())
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				_, err := s.Apply(b.Context(), Change{
					EventID:    fmt.Sprintf("wecom:ev:%d", i),
					Identities: []Identity{{KindExternalUserID, fmt.Sprintf("wmMemory%07d", i)}},
					Touch:      true, Channel: "wecom", Owner: "rep.li", AddTags: []string{"expo-2026"},
					Consent:  []ConsentChange{{Channel: "wecom", Status: ConsentOptedIn, Source: "added WeCom contact rep.li (scene expo)"}},
					Timeline: &Entry{At: time.Now(), Type: "contact_added", Source: "wecom", Props: map[string]string{"state": "expo"}},
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	after := usedMemory(b, rdb.Info(b.Context(), "memory").Val())
	b.ReportMetric(float64(after-before)/n, "bytes/contact")
}

func usedMemory(b *testing.B, info string) int64 {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no used_memory in INFO")
	return 0
}
