package reports

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
	"github.com/journeygate/gateway/internal/testclock"
	"github.com/journeygate/gateway/outreach"
)

var update = flag.Bool("update", false, "rewrite testdata/*.csv with the current output")

var shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is a moment of November 2026 in Shanghai.
func at(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, shanghai)
}

func newReports(t *testing.T, rdb redis.UniversalClient, clock *testclock.Clock) *Reports {
	t.Helper()
	r, err := New(rdb, Options{Now: clock.Now, MessageCost: map[string]float64{"sms": 0.045, "email": 0.001}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// script plays a week: three contacts from three sources move through the
// stages across days, a campaign with a cost reaches two of them and earns
// orders, and two reps get hand-offs, one of which breaches the SLA.
func script(t *testing.T, r *Reports) {
	t.Helper()
	ctx := context.Background()
	// 2 Nov: first sights.
	must(t, r.Seen(ctx, "c1", QRSource("春季展会"), at(2, 9, 0)))
	must(t, r.Seen(ctx, "c2", WeComStateSource("s1"), at(2, 10, 0)))
	must(t, r.Seen(ctx, "c3", "", at(2, 23, 30))) // 23:30 Shanghai is still the 2nd
	must(t, r.Seen(ctx, "c1", QRSource("other"), at(2, 11, 0)))
	// The campaign reaches c1 and c2 by SMS; c3 gets a service email.
	must(t, r.ObserveMessage(ctx, outreach.MessageEvent{MessageID: "spring-c1", ContactID: "c1", Campaign: "spring", Channel: "sms", Stat: StatSent, At: at(2, 12, 0)}))
	must(t, r.ObserveMessage(ctx, outreach.MessageEvent{MessageID: "spring-c2", ContactID: "c2", Campaign: "spring", Channel: "sms", Stat: StatSent, At: at(2, 12, 0)}))
	must(t, r.ObserveMessage(ctx, outreach.MessageEvent{MessageID: "spring-c1", ContactID: "c1", Campaign: "spring", Channel: "sms", Stat: StatDelivered, At: at(2, 12, 1)}))
	must(t, r.ObserveMessage(ctx, outreach.MessageEvent{MessageID: "spring-c2", ContactID: "c2", Campaign: "spring", Channel: "sms", Stat: StatFailed, At: at(2, 12, 1)}))
	must(t, r.ObserveMessage(ctx, outreach.MessageEvent{MessageID: "m3", ContactID: "c3", Channel: "email", Stat: StatSent, At: at(2, 13, 0)}))
	must(t, r.ObserveMessage(ctx, outreach.MessageEvent{MessageID: "m4", ContactID: "c3", Channel: "none", Stat: "suppressed", At: at(2, 13, 0)}))
	must(t, r.Reaction(ctx, "email", StatOpened, "m3", at(2, 14, 0)))
	must(t, r.Reaction(ctx, "email", StatOpened, "m3", at(2, 15, 0))) // the pixel again
	must(t, r.Reaction(ctx, "email", StatClicked, "m3", at(2, 15, 0)))
	_, err := r.SetCost(ctx, "spring", 500, "CNY")
	must(t, err)

	// 3 Nov: c1 replies and both reached contacts turn mql.
	touch, ok, err := r.InboundReply(ctx, "c1", at(3, 8, 0))
	must(t, err)
	if want := (Touch{Campaign: "spring", MessageID: "spring-c1", At: at(2, 12, 0)}); !ok || !touch.At.Equal(want.At) || touch.Campaign != want.Campaign || touch.MessageID != want.MessageID {
		t.Errorf("InboundReply = %+v, %v; want %+v, true", touch, ok, want)
	}
	_, _, err = r.InboundReply(ctx, "c1", at(3, 9, 0)) // a second message: one reply per message
	must(t, err)
	must(t, r.StageChanged(ctx, "c1", "mql", at(3, 9, 0)))
	must(t, r.StageChanged(ctx, "c2", "mql", at(3, 10, 0)))
	must(t, r.StageChanged(ctx, "c2", "mql", at(3, 11, 0))) // no change
	must(t, r.HandoffOpened(ctx, "rep.li", "c1", at(3, 10, 0)))
	must(t, r.HandoffFollowedUp(ctx, "rep.li", "c1", at(3, 10, 0), at(3, 12, 0)))
	must(t, r.HandoffOpened(ctx, "rep.wang", "c2", at(3, 11, 0)))
	must(t, r.Unsubscribed(ctx, "c3", "email", at(3, 12, 0)))
	must(t, r.Unsubscribed(ctx, "c3", "email", at(3, 12, 5))) // the link clicked twice

	// 4 Nov: c1 becomes sql and orders; c2 redeems a coupon (jumps to
	// customer); rep.wang breaches the SLA.
	must(t, r.StageChanged(ctx, "c1", "sql", at(4, 9, 0)))
	camp, err := r.RecordOrder(ctx, Order{ContactID: "c1", OrderID: "o1", AmountCents: 19990, At: at(4, 9, 30)})
	must(t, err)
	if camp != "spring" {
		t.Errorf("order o1 credited to %q, want spring", camp)
	}
	must(t, r.StageChanged(ctx, "c2", "customer", at(4, 10, 0)))
	_, err = r.RecordOrder(ctx, Order{ContactID: "c2", OrderID: "o2", AmountCents: 10000, At: at(4, 10, 0)})
	must(t, err)
	_, err = r.RecordOrder(ctx, Order{ContactID: "c2", OrderID: "o2", AmountCents: 10000, At: at(4, 10, 1)}) // the shop's order_paid for it
	must(t, err)
	must(t, r.RecordStages(ctx, []StageFact{{ContactID: "c3", Stage: "mql", At: at(4, 11, 0)}}))
	must(t, r.HandoffBreached(ctx, "rep.wang", "c2", at(4, 11, 0)))

	// 6 Nov: rep.wang follows up after 48 h; c3 orders long after any campaign.
	must(t, r.HandoffFollowedUp(ctx, "rep.wang", "c2", at(3, 11, 0), at(5, 11, 0)))
	camp, err = r.RecordOrder(ctx, Order{ContactID: "c3", OrderID: "o3", AmountCents: 5000, At: at(6, 9, 0)})
	must(t, err)
	if camp != "" {
		t.Errorf("order o3 credited to %q, want none", camp)
	}
}

func ptr[T any](v T) *T { return &v }

func secs(d time.Duration) *int64 {
	m := bucketMiddle(bucketOf(d))
	return ptr(int64(m / time.Second))
}

func TestReportsOverAScriptedWeek(t *testing.T) {
	clock := testclock.New(at(7, 9, 0))
	r := newReports(t, redistest.Client(t), clock)
	script(t, r)
	ctx := context.Background()
	p, err := r.Period("2026-11-01", "2026-11-07")
	must(t, err)

	funnel, err := r.Funnel(ctx, p, "", false)
	must(t, err)
	wantFunnel := &Funnel{From: "2026-11-01", To: "2026-11-07", Timezone: "Asia/Shanghai",
		Sources: []string{"direct", "qr:春季展会", "wecom_state:s1"},
		Stages: []FunnelStage{
			{Stage: "prospect", Entered: 3, ConversionToNext: ptr(1.0), Left: 3, MedianSeconds: secs(24 * time.Hour)},
			{Stage: "mql", Entered: 3, ConversionToNext: ptr(2.0 / 3), Left: 2, MedianSeconds: secs(24 * time.Hour)},
			{Stage: "sql", Entered: 2, ConversionToNext: ptr(0.5)},
			{Stage: "customer", Entered: 1},
		}}
	if diff := cmp.Diff(wantFunnel, funnel); diff != "" {
		t.Errorf("funnel (-want +got)\n%s", diff)
	}
	bySource, err := r.Funnel(ctx, p, "qr:春季展会", true)
	must(t, err)
	wantExpo := []FunnelStage{
		{Stage: "prospect", Entered: 1, ConversionToNext: ptr(1.0), Left: 1, MedianSeconds: secs(24 * time.Hour)},
		{Stage: "mql", Entered: 1, ConversionToNext: ptr(1.0), Left: 1, MedianSeconds: secs(24 * time.Hour)},
		{Stage: "sql", Entered: 1, ConversionToNext: ptr(0.0)},
		{Stage: "customer"},
	}
	if diff := cmp.Diff(wantExpo, bySource.Stages); diff != "" {
		t.Errorf("funnel of qr:expo (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int64{"prospect": 0, "mql": 1, "sql": 0, "customer": 0}, bySource.Days[2].Entered); diff != "" {
		t.Errorf("qr:expo on %s (-want +got)\n%s", bySource.Days[2].Date, diff)
	}

	camps, err := r.Campaigns(ctx, p, "", true)
	must(t, err)
	wantCamps := []CampaignRow{{Campaign: "spring", Cost: 500, Currency: "CNY", Reach: 2, Leads: 2, SQL: 2, NewCustomers: 1, Deals: 2,
		Revenue: 299.9, ConversionRate: ptr(1.0), ROI: ptr(29990.0 / 50000), CAC: ptr(500.0)}}
	if diff := cmp.Diff(wantCamps, camps.Campaigns); diff != "" {
		t.Errorf("campaigns (-want +got)\n%s", diff)
	}
	wantDays := []CampaignDay{
		{Date: "2026-11-02", Campaign: "spring", Reach: 2},
		{Date: "2026-11-03", Campaign: "spring", Leads: 2},
		{Date: "2026-11-04", Campaign: "spring", SQL: 2, NewCustomers: 1, Deals: 2, Revenue: 299.9},
	}
	if diff := cmp.Diff(wantDays, camps.Days); diff != "" {
		t.Errorf("campaign days (-want +got)\n%s", diff)
	}

	chans, err := r.Channels(ctx, p, false)
	must(t, err)
	wantChans := []ChannelRow{
		{Channel: "wecom", Currency: "CNY"},
		{Channel: "officialaccount", Currency: "CNY"},
		{Channel: "sms", Sent: 2, Delivered: 1, Failed: 1, Replied: 1, Cost: 0.09, Currency: "CNY", DeliveryRate: ptr(0.5), ReplyRate: ptr(0.5), UnsubscribeRate: ptr(0.0)},
		{Channel: "email", Sent: 1, Opened: 1, Clicked: 1, Unsubscribed: 1, Cost: 0, Currency: "CNY", OpenRate: ptr(1.0), ClickRate: ptr(1.0), ReplyRate: ptr(0.0), UnsubscribeRate: ptr(1.0)},
	}
	if diff := cmp.Diff(wantChans, chans.Channels); diff != "" {
		t.Errorf("channels (-want +got)\n%s", diff)
	}

	hand, err := r.Handoffs(ctx, p, "", false)
	must(t, err)
	wantHand := []HandoffRow{
		{Rep: "rep.li", Received: 1, FollowedUp: 1, MedianFollowUpSeconds: secs(2 * time.Hour)},
		{Rep: "rep.wang", Received: 1, FollowedUp: 1, MedianFollowUpSeconds: secs(48 * time.Hour), Breached: 1},
	}
	if diff := cmp.Diff(wantHand, hand.Reps); diff != "" {
		t.Errorf("hand-offs (-want +got)\n%s", diff)
	}
	own, err := r.Handoffs(ctx, p, "rep.li", false)
	must(t, err)
	if diff := cmp.Diff(wantHand[:1], own.Reps); diff != "" {
		t.Errorf("rep.li's own hand-offs (-want +got)\n%s", diff)
	}

	// The CSV downloads of every table.
	for name, table := range map[string]Table{
		"funnel": funnel.Table(false), "funnel_daily": bySource.Table(true), "funnel_source": bySource.Table(false), "campaigns": camps.Table(false), "campaigns_daily": camps.Table(true),
		"channels": chans.Table(false), "handoffs": hand.Table(false),
	} {
		var buf bytes.Buffer
		must(t, WriteCSV(&buf, table))
		golden(t, name+".csv", buf.Bytes())
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		must(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	must(t, err)
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got)\n%s", path, diff)
	}
}

func TestPeriods(t *testing.T) {
	r := newReports(t, redistest.Client(t), testclock.New(time.Date(2026, 11, 21, 17, 0, 0, 0, time.UTC))) // the 22nd in Shanghai
	tests := []struct {
		from, to         string
		wantFrom, wantTo string
		wantErr          bool
	}{
		{"", "", "2026-10-24", "2026-11-22", false},
		{"2026-11-01", "2026-11-01", "2026-11-01", "2026-11-01", false},
		{"", "2026-02-10", "2026-01-12", "2026-02-10", false},
		{"2026-11-02", "2026-11-01", "", "", true},
		{"2025-01-01", "2026-11-01", "", "", true},
		{"1 Nov", "", "", "", true},
		{"", "2026-13-01", "", "", true},
	}
	for _, tt := range tests {
		p, err := r.Period(tt.from, tt.to)
		if (err != nil) != tt.wantErr {
			t.Errorf("Period(%q, %q) error %v, want error %v", tt.from, tt.to, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		got := []string{p.From.Format(dateFormat), p.To.Format(dateFormat)}
		if diff := cmp.Diff([]string{tt.wantFrom, tt.wantTo}, got); diff != "" {
			t.Errorf("Period(%q, %q) (-want +got)\n%s", tt.from, tt.to, diff)
		}
	}
}

func TestBadInputIsRefused(t *testing.T) {
	r := newReports(t, redistest.Client(t), testclock.New(at(7, 9, 0)))
	ctx := context.Background()
	tests := []struct {
		name string
		err  error
	}{
		{"unknown stage", r.StageChanged(ctx, "c1", "lead", at(1, 1, 0))},
		{"no contact", r.StageChanged(ctx, "", "mql", at(1, 1, 0))},
		{"negative cost", func() error { _, err := r.SetCost(ctx, "x", -1, ""); return err }()},
		{"other currency", func() error { _, err := r.SetCost(ctx, "x", 1, "USD"); return err }()},
		{"no campaign", func() error { _, err := r.SetCost(ctx, "", 1, ""); return err }()},
		{"reaction kind", r.Reaction(ctx, "email", "bounced", "m1", at(1, 1, 0))},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	for _, s := range []string{"abc", "-1", "NaN", "1e11", ""} {
		if _, err := ParseAmount(s); err == nil {
			t.Errorf("ParseAmount(%q) accepted", s)
		}
	}
	if got, err := ParseAmount(" 199.90 "); err != nil || got != 19990 {
		t.Errorf("ParseAmount(199.90) = %d, %v; want 19990", got, err)
	}
}

func TestCSVDefusesFormulas(t *testing.T) {
	var buf bytes.Buffer
	must(t, WriteCSV(&buf, Table{Header: []string{"campaign", "n"}, Rows: [][]string{{"=HYPERLINK(\"x\")", "-1"}, {"@sum", "2"}, {"-x", "+3"}}}))
	want := utf8BOM + "campaign,n\r\n\"'=HYPERLINK(\"\"x\"\")\",-1\r\n'@sum,2\r\n'-x,'+3\r\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("CSV (-want +got)\n%s", diff)
	}
}

// TestReportsOnACluster plays the same week on a three-node Cluster, with
// the stage facts recorded in bulk (pipelined scripts across slots), and
// expects the same reports as on one server.
func TestReportsOnACluster(t *testing.T) {
	clock := testclock.New(at(7, 9, 0))
	single, cluster := newReports(t, redistest.Client(t), clock), newReports(t, redistest.Cluster(t), clock)
	script(t, single)
	script(t, cluster)
	ctx := context.Background()
	facts := []StageFact{{ContactID: "b1", Source: "import:j1", At: at(5, 1, 0), First: true}, {ContactID: "b2", Source: "import:j1", At: at(5, 1, 0), First: true},
		{ContactID: "b1", Stage: "sql", At: at(6, 1, 0)}, {ContactID: "b2", Stage: "mql", At: at(6, 2, 0)}}
	must(t, single.RecordStages(ctx, facts))
	must(t, cluster.RecordStages(ctx, facts))
	p, err := single.Period("2026-11-01", "2026-11-07")
	must(t, err)
	for name, read := range map[string]func(r *Reports) (any, error){
		"funnel":    func(r *Reports) (any, error) { return r.Funnel(ctx, p, "", true) },
		"import":    func(r *Reports) (any, error) { return r.Funnel(ctx, p, "import:j1", false) },
		"campaigns": func(r *Reports) (any, error) { return r.Campaigns(ctx, p, "", true) },
		"channels":  func(r *Reports) (any, error) { return r.Channels(ctx, p, true) },
		"handoffs":  func(r *Reports) (any, error) { return r.Handoffs(ctx, p, "", true) },
	} {
		want, err := read(single)
		must(t, err)
		got, err := read(cluster)
		must(t, err)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s on a Cluster (-single +cluster)\n%s", name, diff)
		}
	}
	imp, err := cluster.Funnel(ctx, p, "import:j1", false)
	must(t, err)
	if got := []int64{imp.Stages[0].Entered, imp.Stages[1].Entered, imp.Stages[2].Entered}; !cmp.Equal(got, []int64{2, 2, 1}) {
		t.Errorf("import:j1 entered prospect, mql, sql = %v, want [2 2 1]", got)
	}
}
