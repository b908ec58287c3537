package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The journeys follow one customer at a time through the product the way a
// marketing team sees it, over separate processes: the platforms' sides are
// played through the sandbox, our side through the admin API, and what the
// customer received is read from the sandbox's outbox.

// journeyConfig writes a config overlay that makes caps and quiet hours
// observable now, without a fake clock (gatewayd runs on the wall clock):
// marketing email at most twice an hour, and SMS quiet hours from an hour
// ago to two hours ahead in UTC. WeCom and the official account have no
// quiet hours here, so those journeys run at any time of day.
func journeyConfig(t testing.TB, now time.Time) string {
	t.Helper()
	now = now.UTC()
	start, end := now.Add(-time.Hour).Format("15:04"), now.Add(2*time.Hour).Format("15:04")
	yaml := fmt.Sprintf(`outreach:
  caps:
    - {name: marketing-weekly, purpose: marketing, channel: any, max: 3, window: 168h}
    - {name: sms-daily, purpose: marketing, channel: sms, max: 1, window: 24h}
    - {name: email-hourly, purpose: marketing, channel: email, max: 2, window: 1h}
  quiet_hours:
    - {channels: [sms], start: "%s", end: "%s", timezone: UTC}
`, start, end)
	path := filepath.Join(t.TempDir(), "journey.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type contactView struct {
	ID       string            `json:"id"`
	Tags     []string          `json:"tags"`
	Stage    string            `json:"stage"`
	Activity string            `json:"activity"`
	Score    int               `json:"score"`
	Owner    string            `json:"owner"`
	Consent  map[string]string `json:"consent"`
	Source   map[string]string `json:"consent_source"`
}

func (s *stack) lookup(channel, id string) contactView {
	s.t.Helper()
	var c contactView
	s.call(http.MethodGet, s.gateway+"/api/v1/contacts/lookup?channel="+channel+"&id="+id, nil, 200, &c)
	return c
}

func (s *stack) timelineTypes(contactID string) []string {
	s.t.Helper()
	var tl struct{ Entries []struct{ Type string } }
	s.call(http.MethodGet, s.gateway+"/api/v1/contacts/"+contactID+"/timeline?limit=200", nil, 200, &tl)
	var out []string
	for _, e := range tl.Entries {
		out = append(out, e.Type)
	}
	return out
}

// play sends a customer action through the sandbox and returns the passive
// reply's text, if the gateway answered with one.
func (s *stack) play(channel string, body map[string]string) string {
	s.t.Helper()
	var res struct {
		Reply *struct {
			Content string `json:"content"`
		} `json:"reply"`
	}
	s.call(http.MethodPost, s.sandbox+"/api/play/"+channel, body, 200, &res)
	if res.Reply == nil {
		return ""
	}
	return res.Reply.Content
}

func TestJourneys(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and starts processes")
	}
	// The shipped scripts run: the test's working directory is cmd/gatewayd.
	s := startStackOpts(t, stackOptions{configs: []string{journeyConfig(t, time.Now())}, env: []string{"DIALOGS_DIR=../../configs/dialogs"}})

	t.Run("wecom: added rep, welcome, survey in chat, events, hot lead card, followed up, coupon redeemed, customer", func(t *testing.T) {
		s.play("wecom", map[string]string{"external_userid": "wmJourney1", "user_id": "rep.wang", "event": "add_external_contact", "state": "expo2026"})
		// The welcome code lives about 20 s: the welcome must be out well within it.
		s.eventuallyWithin(15*time.Second, "welcome within the welcome-code window", func() bool {
			return len(s.receivedVia("wecom", "send_welcome_msg")) == 1
		})
		c := s.lookup("wecom", "wmJourney1")
		if c.Owner != "rep.wang" || c.Consent["wecom"] != "opted_in" || !strings.Contains(c.Source["wecom"], "expo2026") {
			t.Fatalf("after the add: owner %q, consent %v, source %v", c.Owner, c.Consent, c.Source)
		}
		// The needs survey, answered in chat through 微信客服: 2 picks the demo
		// (tag, +15, mql), then the company name is captured and thanked for.
		kfSays := func(text string) {
			s.call(http.MethodPost, s.sandbox+"/api/play/kf", map[string]string{"external_userid": "wmJourney1", "open_kfid": "wk_demo", "text": text}, 200, nil)
		}
		botSaid := func(want string) func() bool {
			return func() bool {
				for _, k := range s.kfOutbox("kf/send_msg", "wmJourney1") {
					if strings.Contains(k.text(t), want) {
						return true
					}
				}
				return false
			}
		}
		kfSays("2")
		s.eventually("the survey asks for the company", botSaid("公司名称"))
		kfSays("星河科技")
		s.eventually("the survey thanks with the company", botSaid("「星河科技」"))
		if c = s.lookup("wecom", "wmJourney1"); c.Score != 15 || c.Stage != "mql" || !containsStr(c.Tags, "interest:demo") {
			t.Fatalf("after the survey: score %d stage %q tags %v, want 15, mql, interest:demo", c.Score, c.Stage, c.Tags)
		}
		// Downloads a whitepaper and attends webinars (each event id counts once; the repeat is a retry).
		events := []struct{ id, typ string }{{"wp-1", "whitepaper_download"}, {"wp-1", "whitepaper_download"},
			{"web-1", "webinar_attended"}, {"web-2", "webinar_attended"}}
		for _, e := range events {
			s.call(http.MethodPost, s.gateway+"/api/v1/events", map[string]any{"contact": map[string]string{"external_userid": "wmJourney1"}, "type": e.typ, "id": "j1-" + e.id}, 202, nil)
		}
		if c = s.lookup("wecom", "wmJourney1"); c.Score != 65 || c.Stage != "mql" {
			t.Fatalf("at 15+10+2×20 points: score %d stage %q, want 65 mql", c.Score, c.Stage)
		}
		s.call(http.MethodPost, s.gateway+"/api/v1/events", map[string]any{"contact": map[string]string{"external_userid": "wmJourney1"}, "type": "webinar_attended", "id": "j1-web-3"}, 202, nil)
		if c = s.lookup("wecom", "wmJourney1"); c.Score != 85 || c.Stage != "sql" {
			t.Fatalf("over 80: score %d stage %q, want 85 sql", c.Score, c.Stage)
		}
		s.eventually("textcard to the owner", func() bool {
			for _, r := range s.receivedVia("wecom", "message/send") {
				if r.To == "rep.wang" && strings.Contains(string(r.Body), "线索待跟进") {
					return true
				}
			}
			return false
		})
		s.play("wecom", map[string]string{"user_id": "rep.wang", "text": "已跟进"})
		s.eventually("hand-off closed", func() bool {
			return strings.Contains(strings.Join(s.timelineTypes(c.ID), ","), "handoff_followed_up")
		})
		// A coupon is issued and redeemed in the shop: the contact is a customer.
		s.call(http.MethodPost, s.gateway+"/api/v1/coupons/batches", map[string]any{"id": "journey_welcome", "name": "新客礼", "expires_at": time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)}, 201, nil)
		s.call(http.MethodPost, s.gateway+"/api/v1/coupons/batches/journey_welcome/codes", map[string]any{"generate": 5, "prefix": "JW"}, 200, nil)
		var issued struct{ Code string }
		s.call(http.MethodPost, s.gateway+"/api/v1/coupons/batches/journey_welcome/issue", map[string]any{"contact": map[string]string{"external_userid": "wmJourney1"}}, 200, &issued)
		var again struct{ Code string }
		s.call(http.MethodPost, s.gateway+"/api/v1/coupons/batches/journey_welcome/issue", map[string]any{"contact": map[string]string{"external_userid": "wmJourney1"}}, 200, &again)
		if issued.Code == "" || again.Code != issued.Code {
			t.Fatalf("issued %q then %q: one code per contact per batch", issued.Code, again.Code)
		}
		s.call(http.MethodPost, s.gateway+"/api/v1/coupons/redeem", map[string]any{"code": issued.Code, "order_id": "SO-1001"}, 200, nil)
		c = s.lookup("wecom", "wmJourney1")
		if c.Stage != "customer" || !containsStr(c.Tags, "customer") {
			t.Fatalf("after the redemption: stage %q tags %v, want customer", c.Stage, c.Tags)
		}
	})

	t.Run("official account: follow by QR scene, chat, unfollow, churned", func(t *testing.T) {
		reply := s.play("officialaccount", map[string]string{"openid": "oJourney1", "event": "subscribe", "scene": "webinar2026"})
		if !strings.Contains(reply, "私域增长实战研讨会") {
			t.Fatalf("passive reply to the follow = %q, want the webinar invitation", reply)
		}
		c := s.lookup("officialaccount", "oJourney1")
		if c.Consent["officialaccount"] != "opted_in" || !strings.Contains(c.Source["officialaccount"], "webinar2026") {
			t.Fatalf("after the follow: consent %v source %v", c.Consent, c.Source)
		}
		if reply = s.play("officialaccount", map[string]string{"openid": "oJourney1", "text": "我要报名"}); !strings.Contains(reply, "手机号") {
			t.Fatalf("reply to 我要报名 = %q, want the phone question", reply)
		}
		s.play("officialaccount", map[string]string{"openid": "oJourney1", "text": "13800138009"})
		s.eventually("sign-up recorded", func() bool {
			c = s.lookup("officialaccount", "oJourney1")
			return c.Activity == "active" && len(c.Tags) > 0
		})
		s.play("officialaccount", map[string]string{"openid": "oJourney1", "event": "unsubscribe"})
		c = s.lookup("officialaccount", "oJourney1")
		if c.Activity != "churned" || c.Consent["officialaccount"] != "opted_out" {
			t.Fatalf("after the unfollow: activity %q consent %v, want churned and opted_out", c.Activity, c.Consent)
		}
		// Marketing on the official account stops at once.
		s.call(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{"id": "j2-after-unfollow", "contact": map[string]string{"openid": "oJourney1"},
			"template": "webinar_reminder", "purpose": "marketing", "channel": "officialaccount",
			"vars": map[string]any{"name": "张", "title": "私域增长实战研讨会", "time": "19:00", "url": "https://live.example.com/w"}}, 202, nil)
		s.eventually("suppressed", func() bool { return s.rawStatus("j2-after-unfollow") == "suppressed" })
	})

	t.Run("sms and email reminders: caps, quiet hours, consent", func(t *testing.T) {
		var tpl map[string]any
		if err := json.Unmarshal([]byte(reminderTemplate), &tpl); err != nil {
			t.Fatal(err)
		}
		s.call(http.MethodPut, s.gateway+"/api/v1/templates/j_reminder", tpl, 200, nil)
		s.call(http.MethodPost, s.gateway+"/api/v1/events", map[string]any{"contact": map[string]string{"phone": "13900000001"}, "type": "signup"}, 202, nil)
		c := s.lookup("sms", "13900000001")
		// SMS marketing needs an explicit opt-in: without it the reminder is suppressed.
		s.send("j3-sms-no-consent", map[string]string{"phone": "13900000001"}, "marketing", "sms", "")
		s.eventually("suppressed without opt-in", func() bool { return s.rawStatus("j3-sms-no-consent") == "suppressed" })
		s.call(http.MethodPut, s.gateway+"/api/v1/contacts/"+c.ID+"/consent", map[string]any{"channel": "sms", "status": "opted_in", "source": "web form journey"}, 200, nil)
		// Inside quiet hours a marketing SMS waits for the window's end; a transactional one goes.
		s.send("j3-sms-marketing", map[string]string{"phone": "13900000001"}, "marketing", "sms", "")
		s.send("j3-sms-transactional", map[string]string{"phone": "13900000001"}, "transactional", "sms", "")
		s.eventually("transactional delivered", func() bool { return s.rawStatus("j3-sms-transactional") == "delivered" })
		s.eventually("marketing deferred", func() bool { return s.rawStatus("j3-sms-marketing") == "deferred" })
		if n := len(s.smsTo("13900000001")); n != 1 {
			t.Fatalf("the phone received %d SMS, want only the transactional one", n)
		}
		// A delayed email reminder goes after its delay; the hourly cap of 2 stops the third.
		s.call(http.MethodPost, s.gateway+"/api/v1/events", map[string]any{"contact": map[string]string{"email": "journey@example.com"}, "type": "signup"}, 202, nil)
		s.send("j3-mail-1", map[string]string{"email": "journey@example.com"}, "marketing", "email", "2s")
		if st := s.rawStatus("j3-mail-1"); st != "scheduled" {
			t.Fatalf("a reminder 2 s ahead is %q, want scheduled", st)
		}
		s.eventually("delayed reminder sent", func() bool { return s.rawStatus("j3-mail-1") == "sent" })
		s.send("j3-mail-2", map[string]string{"email": "journey@example.com"}, "marketing", "email", "")
		s.eventually("second sent", func() bool { return s.rawStatus("j3-mail-2") == "sent" })
		s.send("j3-mail-3", map[string]string{"email": "journey@example.com"}, "marketing", "email", "")
		s.eventually("third capped", func() bool { return s.rawStatus("j3-mail-3") == "capped" })
		s.send("j3-mail-receipt", map[string]string{"email": "journey@example.com"}, "transactional", "email", "")
		s.eventually("transactional mail not capped", func() bool { return s.rawStatus("j3-mail-receipt") == "sent" })
		s.eventually("three mails captured", func() bool { return len(s.emailTo("journey@example.com")) == 3 })
		// TD by SMS opts the number out: the deferred marketing SMS does not go later either.
		s.call(http.MethodPost, s.sandbox+"/api/play/sms", map[string]string{"phone": "13900000001", "text": "TD"}, 200, nil)
		if c = s.lookup("sms", "13900000001"); c.Consent["sms"] != "opted_out" {
			t.Fatalf("after TD: consent %v", c.Consent)
		}
		s.send("j3-sms-after-td", map[string]string{"phone": "13900000001"}, "marketing", "sms", "")
		s.eventually("suppressed after TD", func() bool { return s.rawStatus("j3-sms-after-td") == "suppressed" })
	})
}

const reminderTemplate = `{"name": "活动提醒", "purpose": "marketing", "channels": {
  "sms": {"template_code": "SMS_123456", "params": {"name": "{{.name}}"}},
  "email": {"subject": "活动提醒", "html": "<p>{{.name}}，活动明天开始</p>", "text": "{{.name}}，活动明天开始"}}}`

// send queues j_reminder; delay may be empty.
func (s *stack) send(id string, contact map[string]string, purpose, channel, delay string) {
	s.t.Helper()
	body := map[string]any{"id": id, "contact": contact, "template": "j_reminder", "vars": map[string]any{"name": "李"}, "purpose": purpose, "channel": channel}
	if delay != "" {
		body["delay"] = delay
	}
	s.call(http.MethodPost, s.gateway+"/api/v1/messages", body, 202, nil)
}

// rawStatus is a message's status, whatever it is.
func (s *stack) rawStatus(id string) string {
	s.t.Helper()
	var m struct{ Status string }
	s.call(http.MethodGet, s.gateway+"/api/v1/messages/"+id, nil, 200, &m)
	return m.Status
}

func (s *stack) smsTo(phone string) []received {
	var out []received
	for _, r := range s.received("sms") {
		if r.To == phone {
			out = append(out, r)
		}
	}
	return out
}

func (s *stack) emailTo(addr string) []received {
	var out []received
	for _, r := range s.received("email") {
		if r.To == addr {
			out = append(out, r)
		}
	}
	return out
}

func containsStr(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
