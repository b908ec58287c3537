package gateway

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/outreach"
	"github.com/journeygate/gateway/reports"
)

// newReportsHarness is a gateway with scoring, sending and reports, its
// report days in Shanghai like the default config.
func newReportsHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarnessDeps(t, func(d *Deps) {
		d.Scoring = contacts.DefaultScoring()
		r, err := reports.New(d.Redis, reports.Options{Now: d.Now, MessageCost: map[string]float64{"sms": 0.045}})
		if err != nil {
			t.Fatal(err)
		}
		d.Reports = r
	})
	h.withOutreach()
	return h
}

func (h *harness) as(token, method, path, body string) response {
	h.t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	if r == nil {
		return h.do(method, path, nil, "Authorization", "Bearer "+token)
	}
	return h.do(method, path, r, "Authorization", "Bearer "+token, "Content-Type", "application/json")
}

// TestReportsThroughTheAPI plays events through the real routes: a QR
// follower and a web lead, a campaign message to both, a reply, a lead
// scored to sql, an order and a coupon redemption with amounts; then reads
// every report and the campaign's replied and redeemed statistics.
func TestReportsThroughTheAPI(t *testing.T) {
	h := newReportsHarness(t)
	ctx := context.Background()
	start := h.clock.Now() // 2026-11-22 18:00 in Shanghai

	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/promo", `{"name":"promo","purpose":"marketing","channels":{"sms":{"template_code":"SMS_1","params":{"n":"x"}}}}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/campaigns", `{"id":"d11","name":"双11","audience":"tag:vip","template":"promo","owner":"rep.li","send_at":"2026-12-01T00:00:00Z"}`), http.StatusCreated)
	cost := h.mustStatus(h.api(http.MethodPut, "/api/v1/campaigns/d11/cost", `{"amount":300,"currency":"CNY"}`), http.StatusOK)
	if diff := cmp.Diff(map[string]any{"campaign": "d11", "amount": 300.0, "currency": "CNY"}, cost); diff != "" {
		t.Errorf("cost (-want +got)\n%s", diff)
	}

	// A follower from the expo QR code and a lead from the web.
	if r := h.oaPost(oaEventXML("oFan", "subscribe", "qrscene_expo", h.clock.Now())); r.Status != http.StatusOK {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	fan := h.contact("officialaccount", "oFan")["id"].(string)
	lead := h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"whitepaper_download","id":"wp-1"}`), http.StatusAccepted)["contact_id"].(string)

	// The campaign reaches both (as the send pipeline reports it).
	for i, c := range []string{fan, lead} {
		ch := []string{"officialaccount", "sms"}[i]
		if err := h.srv.reports.ObserveMessage(ctx, outreach.MessageEvent{MessageID: "d11-" + c, ContactID: c, Campaign: "d11", Channel: ch, Stat: "sent", At: h.clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	// The fan writes back an hour later: a reply to the campaign.
	h.clock.Advance(time.Hour)
	if r := h.oaPost(oaTextXML("oFan", "多少钱？", "9001", h.clock.Now())); r.Status != http.StatusOK {
		t.Fatalf("text: %d %s", r.Status, r.Body)
	}
	// Next day the lead attends three webinars (score 70 → mql) and pays;
	// the fan's redemption jumps it to customer, through mql and sql.
	h.clock.Advance(24 * time.Hour)
	for _, id := range []string{"wb-1", "wb-2", "wb-3"} {
		h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"webinar_attended","id":"`+id+`"}`), http.StatusAccepted)
	}
	h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"order_paid","id":"pay-1","props":{"amount":"1299.00","order_id":"A-1"}}`), http.StatusAccepted)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"order_paid","id":"pay-1b","props":{"amount":"1299.00","order_id":"A-1"}}`), http.StatusAccepted) // the same order again
	// The fan redeems a coupon worth an order of 99.
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches", `{"id":"b1","name":"b1","expires_at":"2026-12-31T00:00:00Z"}`), http.StatusCreated)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/b1/codes", `{"codes":["CODE-0001"]}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/b1/issue", `{"contact":{"openid":"oFan"}}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/redeem", `{"code":"CODE-0001","order_id":"S-9","amount":99}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/redeem", `{"code":"CODE-0001","order_id":"S-9","amount":99}`), http.StatusOK) // a shop's retry

	camp := h.mustStatus(h.api(http.MethodGet, "/api/v1/campaigns/d11", ""), http.StatusOK)
	totals := camp["stats"].(map[string]any)["totals"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"replied": 1.0, "redeemed": 1.0}, totals); diff != "" {
		t.Errorf("campaign totals (-want +got)\n%s", diff)
	}

	period := "?from=" + start.In(shanghaiTZ(t)).Format("2006-01-02") + "&to=" + h.clock.Now().In(shanghaiTZ(t)).Format("2006-01-02")
	got := h.mustStatus(h.api(http.MethodGet, "/api/v1/reports/campaigns"+period, ""), http.StatusOK)
	wantCampaigns := []any{map[string]any{"campaign": "d11", "name": "双11", "cost": 300.0, "currency": "CNY", "reach": 2.0, "leads": 2.0, "sql": 1.0,
		"new_customers": 1.0, "deals": 2.0, "revenue": 1398.0, "conversion_rate": 0.5, "roi": 1398.0 / 300, "cac": 300.0}}
	if diff := cmp.Diff(wantCampaigns, got["campaigns"]); diff != "" {
		t.Errorf("campaign report (-want +got)\n%s", diff)
	}

	funnel := h.mustStatus(h.api(http.MethodGet, "/api/v1/reports/funnel"+period, ""), http.StatusOK)
	entered := map[string]any{}
	for _, s := range funnel["stages"].([]any) {
		st := s.(map[string]any)
		entered[st["stage"].(string)] = st["entered"]
	}
	if diff := cmp.Diff(map[string]any{"prospect": 2.0, "mql": 2.0, "sql": 1.0, "customer": 1.0}, entered); diff != "" {
		t.Errorf("funnel entries (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]any{"direct", "qr:expo"}, funnel["sources"]); diff != "" {
		t.Errorf("funnel sources (-want +got)\n%s", diff)
	}

	chans := h.mustStatus(h.api(http.MethodGet, "/api/v1/reports/channels"+period, ""), http.StatusOK)["channels"].([]any)
	oa := chans[1].(map[string]any)
	if diff := cmp.Diff([]any{"officialaccount", 1.0, 1.0}, []any{oa["channel"], oa["sent"], oa["replied"]}); diff != "" {
		t.Errorf("official account row: channel, sent, replied (-want +got)\n%s", diff)
	}

	// CSV: UTF-8 with a BOM, as a download.
	r := h.api(http.MethodGet, "/api/v1/reports/campaigns"+period+"&format=csv", "")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "\xEF\xBB\xBF") || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), `attachment; filename="campaigns-`) {
		t.Fatalf("csv: %d %v %q", r.Status, r.Header, r.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.Body, "\xEF\xBB\xBF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"d11", "双11", "300.00", "CNY", "2", "2", "1", "1", "2", "1398.00", "0.5000", "4.6600", "300.00"}, rows[1]); diff != "" {
		t.Errorf("csv row (-want +got)\n%s", diff)
	}
	daily := h.mustStatus(h.api(http.MethodGet, "/api/v1/reports/funnel"+period+"&interval=day", ""), http.StatusOK)
	if n := len(daily["days"].([]any)); n != 2 {
		t.Errorf("%d days in the daily funnel, want 2", n)
	}
}

func shanghaiTZ(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestHandoffReportRolesAndBadRequests(t *testing.T) {
	h := newReportsHarness(t)
	ctx := context.Background()
	now := h.clock.Now()
	for _, rep := range []string{"rep.li", "rep.wang"} {
		if err := h.srv.reports.HandoffOpened(ctx, rep, "c-"+rep, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.srv.reports.HandoffBreached(ctx, "rep.wang", "c-rep.wang", now); err != nil {
		t.Fatal(err)
	}
	li, marketer := h.issueToken("rep.li", "sales", "rep.li"), h.issueToken("mk", "marketer", "mk")

	own := h.as(li, http.MethodGet, "/api/v1/reports/handoffs", "")
	if own.Status != http.StatusOK {
		t.Fatalf("own report: %d %s", own.Status, own.Body)
	}
	want := []any{map[string]any{"rep": "rep.li", "received": 1.0, "followed_up": 0.0, "median_follow_up_seconds": nil, "sla_breaches": 0.0}}
	if diff := cmp.Diff(want, own.json(t)["reps"]); diff != "" {
		t.Errorf("rep.li's report (-want +got)\n%s", diff)
	}
	all := h.as(marketer, http.MethodGet, "/api/v1/reports/handoffs", "")
	if n := len(all.json(t)["reps"].([]any)); n != 2 {
		t.Errorf("marketer sees %d reps, want 2", n)
	}

	for _, tt := range []struct {
		name, token, method, path, body string
		status, code                    int
	}{
		{"another rep's row", li, http.MethodGet, "/api/v1/reports/handoffs?rep=rep.wang", "", 403, KindForbidden.Code},
		{"sales reads no funnel", li, http.MethodGet, "/api/v1/reports/funnel", "", 403, KindForbidden.Code},
		{"sales enters no cost", li, http.MethodPut, "/api/v1/campaigns/x/cost", `{"amount":1}`, 403, KindForbidden.Code},
		{"from after to", adminToken, http.MethodGet, "/api/v1/reports/funnel?from=2026-11-05&to=2026-11-01", "", 400, KindReportPeriod.Code},
		{"not a date", adminToken, http.MethodGet, "/api/v1/reports/channels?from=yesterday", "", 400, KindReportPeriod.Code},
		{"too long", adminToken, http.MethodGet, "/api/v1/reports/campaigns?from=2020-01-01&to=2026-01-01", "", 400, KindReportPeriod.Code},
		{"interval", adminToken, http.MethodGet, "/api/v1/reports/funnel?interval=week", "", 400, KindInvalidField.Code},
		{"format", adminToken, http.MethodGet, "/api/v1/reports/funnel?format=xlsx", "", 400, KindInvalidField.Code},
		{"cost of no campaign", adminToken, http.MethodPut, "/api/v1/campaigns/nope/cost", `{"amount":1}`, 404, KindCampaignUnknown.Code},
		{"cost without amount", adminToken, http.MethodPut, "/api/v1/campaigns/nope/cost", `{"currency":"CNY"}`, 400, KindInvalidField.Code},
		{"order without amount", adminToken, http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138001"},"type":"order_paid","props":{"order_id":"x"}}`, 400, KindInvalidField.Code},
		{"order with a bad amount", adminToken, http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138001"},"type":"order_paid","props":{"amount":"¥5"}}`, 400, KindInvalidField.Code},
		{"redeem with a bad amount", adminToken, http.MethodPost, "/api/v1/coupons/redeem", `{"code":"CODE-0001","amount":-3}`, 400, KindInvalidField.Code},
	} {
		before := h.redisSnapshot()
		r := h.as(tt.token, tt.method, tt.path, tt.body)
		if r.Status != tt.status || r.code(t) != tt.code {
			t.Errorf("%s: %d %s, want %d code %d", tt.name, r.Status, r.Body, tt.status, tt.code)
		}
		if tt.method != http.MethodGet {
			if diff := cmp.Diff(before, h.redisSnapshot()); diff != "" {
				t.Errorf("%s: a refused request changed Redis (-before +after)\n%s", tt.name, diff)
			}
		}
	}

	// A campaign's cost in another currency is refused.
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/promo", `{"name":"promo","purpose":"marketing","channels":{"sms":{"template_code":"SMS_1","params":{"n":"x"}}}}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/campaigns", `{"id":"d11","name":"d11","audience":"tag:vip","template":"promo","owner":"rep.li","send_at":"2026-12-01T00:00:00Z"}`), http.StatusCreated)
	if r := h.api(http.MethodPut, "/api/v1/campaigns/d11/cost", `{"amount":1,"currency":"USD"}`); r.Status != 422 || r.code(t) != KindCurrency.Code {
		t.Errorf("USD cost: %d %s", r.Status, r.Body)
	}
}

func TestReportRoutesNeedReports(t *testing.T) {
	h := newHarness(t)
	if r := h.api(http.MethodGet, "/api/v1/reports/funnel", ""); r.Status != http.StatusServiceUnavailable || r.code(t) != KindNotConfigured.Code {
		t.Errorf("without reports: %d %s", r.Status, r.Body)
	}
}

func TestScriptStageChangesCountOnceInTheFunnel(t *testing.T) {
	h, pipe, _ := dialogHarness(t, expoScript)
	res, err := h.store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{{Kind: contacts.KindOpenID, Value: "oFan"}}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewDialogActions(h.store, pipe, outreach.NewCoupons(h.rdb, h.clock.Now), nil, h.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	r, err := reports.New(h.rdb, reports.Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	a.SetReports(r)
	for range 2 { // the step again, as after a crash
		if err := a.SetStage(t.Context(), dialogs.Target{ContactID: res.ContactID, Script: "expo_welcome@1", Step: "act", Key: "k1"}, "sql"); err != nil {
			t.Fatal(err)
		}
	}
	p, err := r.Period("", "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := r.Funnel(t.Context(), p, "", false)
	if err != nil {
		t.Fatal(err)
	}
	var entered []int64
	for _, s := range f.Stages {
		entered = append(entered, s.Entered)
	}
	if diff := cmp.Diff([]int64{1, 1, 1, 0}, entered); diff != "" {
		t.Errorf("entered prospect, mql, sql, customer (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]string{reports.SourceUnknown}, f.Sources); diff != "" {
		t.Errorf("sources (-want +got)\n%s", diff)
	}
}

// A coupon issued to a contact that is then merged into an older one is
// credited, when redeemed, to the campaign that reached it: the report
// state moved with the merge, and the redemption is reported under the
// contact's current id.
func TestRedemptionAfterAMergeCreditsTheCampaign(t *testing.T) {
	var store *contacts.Store
	h := newHarnessDeps(t, func(d *Deps) {
		d.Scoring = contacts.DefaultScoring()
		r, err := reports.New(d.Redis, reports.Options{Now: d.Now})
		if err != nil {
			t.Fatal(err)
		}
		d.Reports = r
		if store, err = contacts.NewStore(d.Redis, contacts.Options{Now: d.Now, Merges: r}); err != nil {
			t.Fatal(err)
		}
		d.Contacts = store
	})
	h.store = store
	h.withOutreach()
	ctx := context.Background()
	h.mustStatus(h.api(http.MethodPut, "/api/v1/templates/promo", `{"name":"promo","purpose":"marketing","channels":{"sms":{"template_code":"SMS_1","params":{"n":"x"}}}}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/campaigns", `{"id":"d11","name":"双11","audience":"tag:vip","template":"promo","owner":"rep.li","send_at":"2026-12-01T00:00:00Z"}`), http.StatusCreated)

	older := h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"whitepaper_download","id":"wp-1"}`), http.StatusAccepted)["contact_id"].(string)
	h.clock.Advance(time.Minute)
	if r := h.oaPost(oaEventXML("oFan", "subscribe", "qrscene_expo", h.clock.Now())); r.Status != http.StatusOK {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	fan := h.contact("officialaccount", "oFan")["id"].(string)
	if err := h.srv.reports.ObserveMessage(ctx, outreach.MessageEvent{MessageID: "d11-" + fan, ContactID: fan, Campaign: "d11", Channel: "officialaccount", Stat: "sent", At: h.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches", `{"id":"b1","name":"b1","expires_at":"2026-12-31T00:00:00Z"}`), http.StatusCreated)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/b1/codes", `{"codes":["CODE-0001"]}`), http.StatusOK)
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/batches/b1/issue", `{"contact":{"openid":"oFan"}}`), http.StatusOK)

	// The fan turns out to be the same person as the older lead.
	h.clock.Advance(time.Hour)
	merged := h.mustStatus(h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000","openid":"oFan"},"type":"form_submitted","id":"form-1"}`), http.StatusAccepted)
	if merged["contact_id"] != older {
		t.Fatalf("merged into %v, want the older contact %s", merged["contact_id"], older)
	}
	h.mustStatus(h.api(http.MethodPost, "/api/v1/coupons/redeem", `{"code":"CODE-0001","order_id":"S-9","amount":99}`), http.StatusOK)

	camp := h.mustStatus(h.api(http.MethodGet, "/api/v1/campaigns/d11", ""), http.StatusOK)
	totals := camp["stats"].(map[string]any)["totals"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"redeemed": 1.0}, totals); diff != "" {
		t.Errorf("campaign totals (-want +got)\n%s", diff)
	}
}

// A script's session that began before its contact was merged away reports
// stage changes under the contact's current id, whose report state the
// merge moved; nothing is left under the old id.
func TestScriptStageChangeAfterAMergeReportsTheCurrentID(t *testing.T) {
	h, pipe, _ := dialogHarness(t, expoScript)
	r, err := reports.New(h.rdb, reports.Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	store, err := contacts.NewStore(h.rdb, contacts.Options{Now: h.clock.Now, Merges: r})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewDialogActions(store, pipe, outreach.NewCoupons(h.rdb, h.clock.Now), nil, h.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	a.SetReports(r)
	phone, fan := contacts.Identity{Kind: contacts.KindPhone, Value: "+8613800138000"}, contacts.Identity{Kind: contacts.KindOpenID, Value: "oFan"}
	older, err := store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{phone}})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	newer, err := store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{fan}})
	if err != nil {
		t.Fatal(err)
	}
	session := dialogs.Target{ContactID: newer.ContactID, Script: "expo_welcome@1", Step: "act", Key: "k1"}
	if err := a.SetStage(t.Context(), session, "mql"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Apply(t.Context(), contacts.Change{Identities: []contacts.Identity{phone, fan}}); err != nil {
		t.Fatal(err)
	}
	session.Key = "k2"
	if err := a.SetStage(t.Context(), session, "sql"); err != nil {
		t.Fatal(err)
	}
	if st := h.rdb.HGet(t.Context(), "{c:"+older.ContactID+"}:rpt", "st").Val(); st != "sql" {
		t.Errorf("report stage of the surviving contact = %q, want sql", st)
	}
	if n := h.rdb.Exists(t.Context(), "{c:"+newer.ContactID+"}:rpt").Val(); n != 0 {
		t.Error("a report state was written under the merged contact's old id")
	}
}
