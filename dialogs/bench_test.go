package dialogs

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/journeygate/gateway/internal/redistest"

	"github.com/journeygate/gateway/channels"
)

// benchConversation is the shipped welcome survey as a new contact goes
// through it: added (welcome, question), a choice (tag, score, stage, next
// question), a company name (thanks, end).
var benchConversation = []Inbound{
	{Channel: channels.WeCom, EventType: channels.TypeContactAdded, Props: map[string]string{"state": "expo", "welcome_code": "W"}},
	{Channel: channels.WeCom, EventType: channels.TypeMessage, Text: "2"},
	{Channel: channels.WeCom, EventType: channels.TypeMessage, Text: "星辰科技有限公司"},
}

func benchFixture(b *testing.B) *fixture {
	data, err := os.ReadFile(filepath.Join("..", "configs", "dialogs", "welcome_survey.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	lib, err := LoadFS(fstest.MapFS{"welcome_survey.yaml": {Data: data}}, LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	f := newFixture(b, lib, Options{Now: time.Now})
	f.act.log = make([]string, 0, 1<<16)
	return f
}

// BenchmarkStep measures inbound messages per second through the shipped
// welcome survey against a real redis-server, with the allocations and
// Redis round trips of each message (one op = one inbound).
func BenchmarkStep(b *testing.B) {
	f := benchFixture(b)
	ctx := context.Background()
	h := redistest.CountRoundTrips(f.rdb)
	handle := func(i int) {
		in := benchConversation[i%len(benchConversation)]
		in.ContactID = "b" + strconv.Itoa(i/len(benchConversation))
		if _, err := f.eng.Handle(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	for i := range len(benchConversation) { // load the Lua scripts
		handle(i)
	}
	f.act.take()
	h.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		handle(i + len(benchConversation))
		if i%4096 == 0 {
			f.act.take()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(h.N())/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkStepParallel is BenchmarkStep with many contacts at once, as
// callback workers run it.
func BenchmarkStepParallel(b *testing.B) {
	f := benchFixture(b)
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		contact := "p" + strconv.FormatInt(next.Add(1), 10)
		i := 0
		for pb.Next() {
			in := benchConversation[i%len(benchConversation)]
			in.ContactID = contact + "-" + strconv.Itoa(i/len(benchConversation))
			if _, err := f.eng.Handle(ctx, in); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	f.act.take()
}
