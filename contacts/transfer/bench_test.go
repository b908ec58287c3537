package transfer

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/journeygate/gateway/contacts"
)

// benchRows is the size of the import benchmark's file.
const benchRows = 100_000

func benchFile() []byte {
	var b bytes.Buffer
	b.WriteString("手机号,姓名,公司,地区,标签\n")
	for i := range benchRows {
		fmt.Fprintf(&b, "138%08d,客户%d,公司%d,上海,expo、vip\n", i, i, i%500)
	}
	return b.Bytes()
}

// BenchmarkImport100k imports a 100,000-row CSV through the whole job
// (upload to Redis, validating pass, compare and apply with the default
// workers) and, in the same run, applies the same rows as ready-made
// Changes straight through contacts.Store.Apply with as many goroutines,
// into a fresh Redis: the baseline. Reports rows/s of both, their ratio,
// and the job's peak heap growth (B/op is the job's allocations).
// Run with -benchtime 1x.
func BenchmarkImport100k(b *testing.B) {
	data := benchFile()
	for b.Loop() {
		base := newFixture(b, ImportOptions{})
		mp, err := newMapper([]string{"手机号", "姓名", "公司", "地区", "标签"}, nil, channelSet(nil), "", base.im.opt.NormalizePhone, "base")
		if err != nil {
			b.Fatal(err)
		}
		changes := make([]contacts.Change, 0, benchRows)
		for i := range benchRows {
			row, rej, _ := mp.mapRow(i+2, []string{fmt.Sprintf("138%08d", i), fmt.Sprintf("客户%d", i), fmt.Sprintf("公司%d", i%500), "上海", "expo、vip"})
			if rej != nil {
				b.Fatal(rej)
			}
			ch, _, _ := plan(row, nil, false, "base")
			changes = append(changes, ch)
		}
		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range DefaultWorkers {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < len(changes); i = int(next.Add(1)) - 1 {
					if _, err := base.store.Apply(base.ctx, changes[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		baseline := float64(benchRows) / time.Since(start).Seconds()

		f := newFixture(b, ImportOptions{Observer: nopObserver{}})
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		go func() {
			defer close(sampled)
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > before && m.HeapAlloc-before > peak.Load() {
					peak.Store(m.HeapAlloc - before)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		start = time.Now()
		j := f.importFile(data, ImportRequest{})
		elapsed := time.Since(start)
		close(stop)
		<-sampled
		if j.Created != benchRows {
			b.Fatalf("job created %d of %d: %+v", j.Created, benchRows, j)
		}
		rate := float64(benchRows) / elapsed.Seconds()
		b.ReportMetric(rate, "import-rows/s")
		b.ReportMetric(baseline, "baseline-rows/s")
		b.ReportMetric(rate/baseline, "ratio")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(len(data))/(1<<20), "file-MiB")
	}
}

type nopObserver struct{}

func (nopObserver) Imported(_ context.Context, _, _ string, _ bool) error { return nil }
