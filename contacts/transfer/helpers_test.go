package transfer

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/journeygate/gateway/channels/sms"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/internal/testclock"
)

var update = flag.Bool("update", false, "rewrite the testdata fixtures")

// fixtureCSV is the list every format fixture holds: Chinese headers, a
// phone with spaces, one with +86 and dashes, tags with 、, consent with
// source and date.
const fixtureCSV = `手机号,姓名,公司,行业,地区,负责人,标签,短信同意,同意来源,同意日期,邮箱
138 0013 8000,王伟,上海云启科技,软件,上海,rep.li,vip、展会2026,是,2026 上海展会,2026/11/01,Wang.Wei@example.com
+86-139-0013-9000,李娜,杭州数智,零售,杭州,rep.zhang,展会2026,,,,
`

// TestWriteFixtures regenerates testdata with -update; otherwise it checks
// the committed files still hold fixtureCSV.
func TestWriteFixtures(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(fixtureCSV)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"utf8.csv":    []byte(fixtureCSV),
		"utf8bom.csv": append([]byte("\uFEFF"), fixtureCSV...),
		"gbk.csv":     []byte(gbk),
		"list.xlsx":   fixtureXLSX(t),
	}
	for name, want := range files {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestWriteFixtures -update)", err)
		}
		if name != "list.xlsx" && !bytes.Equal(got, want) {
			t.Errorf("%s does not hold fixtureCSV; run go test -run TestWriteFixtures -update", name)
		}
	}
}

// fixtureXLSX writes fixtureCSV as a workbook, the phone numbers as number
// cells the way Excel stores typed digits.
func fixtureXLSX(t testing.TB) []byte {
	f := excelize.NewFile()
	defer f.Close()
	for r, line := range strings.Split(strings.TrimSpace(fixtureCSV), "\n") {
		for c, v := range strings.Split(line, ",") {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			var val any = v
			if r == 1 && c == 0 {
				val = int64(13800138000)
			}
			if err := f.SetCellValue("Sheet1", cell, val); err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type fixture struct {
	t     testing.TB
	ctx   context.Context
	rdb   *redis.Client
	clock *testclock.Clock
	store *contacts.Store
	im    *Imports
	seen  *observed
}

// observed records what an import told its observer (the row workers call
// it concurrently).
type observed struct {
	mu     sync.Mutex
	calls  []string
	cancel func(n int) // called with the call count, after recording
}

func (o *observed) Imported(_ context.Context, contactID, jobID string, created bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	mark := "updated"
	if created {
		mark = "created"
	}
	o.calls = append(o.calls, contactID+" "+mark)
	if o.cancel != nil {
		o.cancel(len(o.calls))
	}
	return nil
}

func newFixture(t testing.TB, opt ImportOptions) *fixture {
	t.Helper()
	rdb := redistest.Client(t)
	clk := testclock.New(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	store, err := contacts.NewStore(rdb, contacts.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	seen := &observed{}
	opt.NormalizePhone = sms.NormalizePhone
	opt.Now = clk.Now
	if opt.Observer == nil {
		opt.Observer = seen
	}
	im, err := NewImports(rdb, store, opt)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: t.Context(), rdb: rdb, clock: clk, store: store, im: im, seen: seen}
}

// importFile creates a job from data and runs it to the end.
func (f *fixture) importFile(data []byte, req ImportRequest) *ImportJob {
	f.t.Helper()
	j, err := f.im.Create(f.ctx, bytes.NewReader(data), req)
	if err != nil {
		f.t.Fatalf("create import: %v", err)
	}
	if err := f.im.Run(f.ctx, j.ID); err != nil {
		f.t.Fatalf("run import: %v", err)
	}
	j, err = f.im.Get(f.ctx, j.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return j
}

func (f *fixture) contact(kind, value string) *contacts.Contact {
	f.t.Helper()
	id, err := f.store.Lookup(f.ctx, contacts.Identity{Kind: kind, Value: value})
	if err != nil {
		f.t.Fatalf("lookup %s %s: %v", kind, value, err)
	}
	c, err := f.store.Get(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// contactKeys lists the keys that are not an import or export job's own
// or asynq's: what an import may change.
func (f *fixture) contactKeys() []string {
	f.t.Helper()
	keys, err := f.rdb.Keys(f.ctx, "*").Result()
	if err != nil {
		f.t.Fatal(err)
	}
	out := keys[:0]
	for _, k := range keys {
		if !strings.HasPrefix(k, "{imp:") && !strings.HasPrefix(k, "{exp:") && !strings.HasPrefix(k, "asynq:") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// dump returns every contact key with its DUMP, to prove nothing changed.
func (f *fixture) dump() map[string]string {
	f.t.Helper()
	all := redistest.Snapshot(f.t, f.rdb, "*")
	out := map[string]string{}
	for _, k := range f.contactKeys() {
		out[k] = all[k]
	}
	return out
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func contextWithCancel(f *fixture) (context.Context, context.CancelFunc) {
	return context.WithCancel(f.ctx)
}
