package contacts

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConcurrentApplyOneContact(t *testing.T) {
	concurrentApplyOneContact(t, newFixture(t, Options{}))
}

// concurrentApplyOneContact has 16 workers apply 200 events to one contact,
// every event twice, each flipping one tag.
func concurrentApplyOneContact(t *testing.T, f *fixture) {
	const workers, events = 16, 200
	p := phone("13800000000")
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		dups  int
		fails []error
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every event is sent by two workers, as a platform retry would.
			for e := w % (workers / 2); e < events; e += workers / 2 {
				ch := Change{EventID: fmt.Sprint("ev-", e), Identities: []Identity{p}, ScoreDelta: 1, Touch: true,
					Timeline: &Entry{Type: "message", Text: fmt.Sprint(e)}}
				if e%2 == 0 {
					ch.AddTags = []string{"hot"}
				} else {
					ch.RemoveTags = []string{"hot"}
				}
				r, err := f.store.Apply(f.ctx, ch)
				mu.Lock()
				if err != nil {
					fails = append(fails, err)
				}
				if r.Duplicate {
					dups++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(fails) > 0 {
		t.Fatalf("Apply failed: %v", errors.Join(fails...))
	}
	c := f.get(t, IDFor(p))
	got := struct{ Score, Dups, Timeline int }{c.Score, dups, len(f.timeline(t, c.ID))}
	want := struct{ Score, Dups, Timeline int }{events, events, DefaultTimelineMax}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantIdx := []string{}
	if len(c.Tags) == 1 {
		wantIdx = []string{c.ID}
	}
	if diff := cmp.Diff(wantIdx, f.withTag(t, "hot")); diff != "" {
		t.Errorf("tag index disagrees with the contact's tags %v (-want +got):\n%s", c.Tags, diff)
	}
}

// Sixteen contacts are linked to one shared identity at once: every merge
// runs concurrently with others, and all must end in the oldest contact.
func TestConcurrentMerges(t *testing.T) {
	concurrentMerges(t, newFixture(t, Options{}))
}

func concurrentMerges(t *testing.T, f *fixture) {
	const n = 16
	shared := phone("shared")
	for g := range n {
		f.apply(t, Change{EventID: fmt.Sprint("c", g), Identities: []Identity{email(fmt.Sprintf("g%d@x.cn", g))},
			AddTags: []string{fmt.Sprint("g", g)}, ScoreDelta: g, Timeline: &Entry{Type: fmt.Sprint("created ", g)}})
		f.clock.Advance(time.Second)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[g] = f.store.Apply(f.ctx, Change{EventID: fmt.Sprint("link", g),
				Identities: []Identity{email(fmt.Sprintf("g%d@x.cn", g)), shared}})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	survivor := IDFor(email("g0@x.cn"))
	wantTags := []string{}
	wantIDs := map[string][]string{"phone": {"shared"}}
	for g := range n {
		i := email(fmt.Sprintf("g%d@x.cn", g))
		if got, err := f.store.Lookup(f.ctx, i); err != nil || got != survivor {
			t.Errorf("Lookup(%v) = %q, %v; want %q", i, got, err, survivor)
		}
		wantTags = append(wantTags, fmt.Sprint("g", g))
		wantIDs["email"] = append(wantIDs["email"], i.Value)
		if diff := cmp.Diff([]string{survivor}, f.withTag(t, fmt.Sprint("g", g))); diff != "" {
			t.Errorf("index of g%d (-want +got):\n%s", g, diff)
		}
	}
	sort.Strings(wantTags)
	sort.Strings(wantIDs["email"])
	c := f.get(t, survivor)
	got := struct {
		Tags       []string
		Identities map[string][]string
		Score      int
		Timeline   int
	}{c.Tags, c.Identities, c.Score, len(f.timeline(t, survivor))}
	want := struct {
		Tags       []string
		Identities map[string][]string
		Score      int
		Timeline   int
	}{wantTags, wantIDs, n - 1, n}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("survivor (-want +got):\n%s", diff)
	}
}
