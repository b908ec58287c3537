package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The fault run (make faults): the stack as processes on loopback, hurt in
// the ways production gets hurt, each followed by the same questions: was
// any callback the gateway accepted (answered 200) lost, did any message
// reach a platform twice, was any cap exceeded, is /readyz healthy again.
// It runs only with GATEWAY_FAULTS=1 and writes its table to FAULTS_REPORT
// when set.

type faultRow struct{ fault, checked, held, figures string }

type faultTable struct {
	mu   sync.Mutex
	rows []faultRow
}

// check records one row; held is false when the check found a violation,
// which also fails the test.
func (ft *faultTable) check(t *testing.T, fault, checked string, held bool, figures string, args ...any) {
	t.Helper()
	fig := fmt.Sprintf(figures, args...)
	h := "yes"
	if !held {
		h = "NO"
		t.Errorf("%s: %s did not hold (%s)", fault, checked, fig)
	}
	ft.mu.Lock()
	ft.rows = append(ft.rows, faultRow{fault, checked, h, fig})
	ft.mu.Unlock()
}

func (ft *faultTable) String() string {
	w := [3]int{len("fault"), len("what was checked"), len("held?")}
	for _, r := range ft.rows {
		w[0], w[1] = max(w[0], len([]rune(r.fault))), max(w[1], len([]rune(r.checked)))
	}
	var b strings.Builder
	line := func(a, c, d, e string) {
		fmt.Fprintf(&b, "%s | %s | %s | %s\n", pad(a, w[0]), pad(c, w[1]), pad(d, w[2]), e)
	}
	line("fault", "what was checked", "held?", "figures")
	line(strings.Repeat("-", w[0]), strings.Repeat("-", w[1]), strings.Repeat("-", w[2]), "-------")
	for _, r := range ft.rows {
		line(r.fault, r.checked, r.held, r.figures)
	}
	return b.String()
}

func pad(s string, n int) string { return s + strings.Repeat(" ", max(0, n-len([]rune(s)))) }

// try is call without the test's expectations: the status, or 0 when
// nothing answered.
func (s *stack) try(method, url string, body any) (int, []byte) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	client := http.Client{Timeout: 15 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

func (s *stack) ready() bool {
	code, _ := s.try(http.MethodGet, s.gateway+"/readyz", nil)
	return code == http.StatusOK
}

// readyAgain waits for /readyz and records the row.
func (s *stack) readyAgain(t *testing.T, ft *faultTable, fault string, since time.Time) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !s.ready() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	ok := s.ready()
	ft.check(t, fault, "/readyz healthy again", ok, "ready %.1f s after the fault began", time.Since(since).Seconds())
}

// finalStatuses polls the messages until none is in flight any more and
// returns each one's status.
func (s *stack) finalStatuses(t *testing.T, ids []string, limit time.Duration) map[string]string {
	t.Helper()
	out := map[string]string{}
	pending := append([]string{}, ids...)
	deadline := time.Now().Add(limit)
	for len(pending) > 0 {
		var still []string
		for _, id := range pending {
			var m struct{ Status string }
			code, raw := s.try(http.MethodGet, s.gateway+"/api/v1/messages/"+id, nil)
			if code == http.StatusOK {
				_ = json.Unmarshal(raw, &m)
			}
			out[id] = m.Status
			switch m.Status {
			case "sent", "delivered", "failed", "suppressed", "capped", "cancelled", "deferred":
			default:
				still = append(still, id)
			}
		}
		pending = still
		if len(pending) > 0 {
			if time.Now().After(deadline) {
				t.Errorf("%d messages still in flight after %v, e.g. %s %s", len(pending), limit, pending[0], out[pending[0]])
				return out
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	return out
}

func countValues(m map[string]string) map[string]int {
	c := map[string]int{}
	for _, v := range m {
		c[v]++
	}
	return c
}

// maxPer is the largest number of messages one recipient got, and how many
// recipients got more than one.
func maxPer(rs []received) (most, twice int) {
	per := map[string]int{}
	for _, r := range rs {
		per[r.To]++
	}
	for _, n := range per {
		most = max(most, n)
		if n > 1 {
			twice++
		}
	}
	return most, twice
}

// callbackLoad plays official-account follows for openids prefix0..n-1 from
// 16 workers and returns which ones the gateway acknowledged. during runs
// once after `after` follows were sent.
func (s *stack) callbackLoad(prefix string, n, after int, during func()) (accepted []string, refused int) {
	var mu sync.Mutex
	var sent atomic.Int64
	var once sync.Once
	var wg, faultWG sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				openid := fmt.Sprintf("%s%04d", prefix, i)
				code, _ := s.try(http.MethodPost, s.sandbox+"/api/play/officialaccount", map[string]string{"openid": openid, "event": "subscribe", "scene": "faults"})
				mu.Lock()
				if code == http.StatusOK {
					accepted = append(accepted, openid)
				} else {
					refused++
				}
				mu.Unlock()
				if sent.Add(1) == int64(after) && during != nil {
					once.Do(func() {
						faultWG.Add(1)
						go func() { defer faultWG.Done(); during() }()
					})
				}
			}
		}()
	}
	for i := range n {
		work <- i
		time.Sleep(2 * time.Millisecond) // a steady stream, so the fault lands mid-load
	}
	close(work)
	wg.Wait()
	faultWG.Wait()
	return accepted, refused
}

// lostFollows counts acknowledged follows whose contact does not show them.
func (s *stack) lostFollows(openids []string) int {
	lost := 0
	for _, id := range openids {
		var c contactView
		code, raw := s.try(http.MethodGet, s.gateway+"/api/v1/contacts/lookup?channel=officialaccount&id="+id, nil)
		if code == http.StatusOK {
			_ = json.Unmarshal(raw, &c)
		}
		if c.Consent["officialaccount"] != "opted_in" {
			lost++
		}
	}
	return lost
}

func (s *stack) sms(id, phone string) int {
	code, _ := s.try(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{"id": id, "contact": map[string]string{"phone": phone},
		"template": "order_shipped", "vars": map[string]any{"name": "王", "order": id}, "purpose": "transactional", "channel": "sms"})
	return code
}

func TestFaults(t *testing.T) {
	if os.Getenv("GATEWAY_FAULTS") != "1" {
		t.Skip("set GATEWAY_FAULTS=1 (make faults does): kills processes, about 3 minutes")
	}
	redisConf := []string{"appendonly yes", "appendfsync always"}
	s := startStackOpts(t, stackOptions{redisConf: redisConf[1:], env: []string{"WECOM_WELCOME_TEMPLATE="}})
	ft := &faultTable{}
	t.Cleanup(func() {
		table := ft.String()
		fmt.Print("\n" + table)
		if path := os.Getenv("FAULTS_REPORT"); path != "" {
			_ = os.WriteFile(path, []byte(table), 0o644)
		}
	})
	gen := 1
	restartGateway := func() {
		gen++
		s.startGateway(fmt.Sprintf("gatewayd-%d", gen))
	}

	t.Run("kill -9 during callback load", func(t *testing.T) {
		const fault = "kill -9 gatewayd during callback load"
		start := time.Now()
		accepted, refused := s.callbackLoad("oKill", 600, 200, func() {
			s.kill(fmt.Sprintf("gatewayd%s", suffix(gen)))
			time.Sleep(300 * time.Millisecond)
			restartGateway()
		})
		lost := s.lostFollows(accepted)
		ft.check(t, fault, "no acknowledged callback lost", lost == 0, "%d follows acknowledged, %d refused while down (the platform retries those), %d lost", len(accepted), refused, lost)
		s.readyAgain(t, ft, fault, start)
	})

	t.Run("kill -9 during a campaign", func(t *testing.T) {
		const fault = "kill -9 gatewayd during a campaign"
		const audience = 1500
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		ids := make([]string, audience)
		for i := range audience {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				var ev struct {
					ContactID string `json:"contact_id"`
				}
				s.call(http.MethodPost, s.gateway+"/api/v1/events", map[string]any{"contact": map[string]string{"email": fmt.Sprintf("crash%d@example.com", i)}, "type": "signup"}, 202, &ev)
				s.call(http.MethodPost, s.gateway+"/api/v1/contacts/"+ev.ContactID+"/tags", map[string]any{"add": []string{"crash-run"}}, 200, nil)
				ids[i] = "crash-run-" + ev.ContactID
			}()
		}
		wg.Wait()
		s.call(http.MethodPost, s.gateway+"/api/v1/campaigns", map[string]any{
			"id": "crash-run", "name": "崩溃演练", "audience": "tag:crash-run", "template": "webinar_reminder", "purpose": "marketing", "channel": "email", "owner": "rep.li",
			"vars": map[string]any{"name": "朋友", "title": "演练", "time": "明天", "url": "https://live.example.com/x"},
		}, 201, nil)
		start := time.Now()
		s.eventually("campaign under way", func() bool { return s.smtpReceived() >= 200 })
		before := s.smtpReceived()
		s.kill(fmt.Sprintf("gatewayd%s", suffix(gen)))
		restartGateway()
		s.readyAgain(t, ft, fault, start)
		// A dead worker's tasks come back once asynq's lease lapses (~70 s).
		s.eventuallyWithin(150*time.Second, "campaign done", func() bool {
			var c struct{ Status string }
			s.call(http.MethodGet, s.gateway+"/api/v1/campaigns/crash-run", nil, 200, &c)
			return c.Status == "done"
		})
		st := countValues(s.finalStatuses(t, ids, 120*time.Second))
		got := s.received("email")
		most, twice := maxPer(got)
		ft.check(t, fault, "no message sent twice", twice == 0, "%d mails captured (%d before the kill), %d addresses twice, statuses %v", len(got), before, twice, st)
		ft.check(t, fault, "every message final, none lost", st["sent"]+st["failed"] == audience && len(got) >= st["sent"],
			"%d sent, %d failed as outcome unknown (in flight at the kill), %d recipients", st["sent"], st["failed"], len(got))
		ft.check(t, fault, "no cap exceeded", most <= 3, "at most %d mail per contact (marketing-weekly max 3)", most)
	})

	t.Run("redis restart (AOF) mid-run", func(t *testing.T) {
		const fault = "Redis killed, 1 s down, restarted (AOF)"
		start := time.Now()
		var accepted []string
		var msgIDs []string
		var mu sync.Mutex
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				id := fmt.Sprintf("redis-%d", i)
				if s.sms(id, fmt.Sprintf("1370002%04d", i)) == http.StatusAccepted {
					mu.Lock()
					msgIDs = append(msgIDs, id)
					mu.Unlock()
				}
				time.Sleep(3 * time.Millisecond)
			}
		}()
		acc, refused := s.callbackLoad("oRedis", 600, 200, func() {
			s.redis.Stop() // kill -9; down for a second, as a crashed host or a restart would be
			time.Sleep(time.Second)
			s.redis.Restart(t, redisConf...)
		})
		wg.Wait()
		accepted = acc
		s.readyAgain(t, ft, fault, start)
		lost := s.lostFollows(accepted)
		ft.check(t, fault, "no acknowledged callback lost", lost == 0, "%d follows acknowledged, %d refused during the restart, %d lost", len(accepted), refused, lost)
		gw := strings.TrimPrefix(s.gateway, "http://")
		internal, unavailable := metric(t, gw, "gateway_errors_total", `"internal"`), metric(t, gw, "gateway_errors_total", `"storage_unavailable"`)
		ft.check(t, fault, "refusals are 503s, not 500s", internal == 0, "%v answered 503 storage_unavailable, %v answered 500 internal%s", unavailable, internal,
			firstLine(s.procs[fmt.Sprintf("gatewayd%s", suffix(gen))].log, `"code": 5000`))
		st := countValues(s.finalStatuses(t, msgIDs, 120*time.Second))
		most, twice := maxPer(s.received("sms"))
		ft.check(t, fault, "no message sent twice", twice == 0 && most <= 1, "%d accepted SMS: statuses %v; %d numbers twice", len(msgIDs), st, twice)
		ft.check(t, fault, "no accepted message lost", st["sent"]+st["delivered"]+st["failed"] == len(msgIDs), "%d of %d accepted reached a final status", st["sent"]+st["delivered"]+st["failed"], len(msgIDs))
	})

	t.Run("sandbox answers 5xx", func(t *testing.T) {
		start := time.Now()
		// An SMS answered 503 may have gone out (Aliyun is not idempotent):
		// the pipeline must not resend it.
		const smsFault = "SMS platform answers 503"
		s.call(http.MethodPost, s.sandbox+"/api/faults", map[string]any{"channel": "sms", "mode": "5xx", "count": 10}, 200, nil)
		var smsIDs []string
		for i := range 10 {
			id := fmt.Sprintf("5xx-sms-%d", i)
			if s.sms(id, fmt.Sprintf("1370003%04d", i)) != http.StatusAccepted {
				t.Fatalf("%s refused", id)
			}
			smsIDs = append(smsIDs, id)
		}
		st := countValues(s.finalStatuses(t, smsIDs, 60*time.Second))
		_, twice := maxPer(s.received("sms"))
		ft.check(t, smsFault, "not resent (outcome unknown)", st["failed"] == len(smsIDs) && twice == 0,
			"%d sends answered 503: statuses %v, %d numbers twice at the platform", len(smsIDs), st, twice)
		s.readyAgain(t, ft, smsFault, start)

		// SMTP 451 is a clear "not taken": retried with back-off, sent once.
		const mailFault = "SMTP server answers 451"
		start = time.Now()
		s.call(http.MethodPost, s.sandbox+"/api/faults", map[string]any{"channel": "email", "mode": "5xx", "count": 0}, 200, nil)
		var ids []string
		for i := range 20 {
			id := fmt.Sprintf("5xx-mail-%d", i)
			code, _ := s.try(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{"id": id, "contact": map[string]string{"email": fmt.Sprintf("retry%d@example.com", i)},
				"template": "order_shipped", "vars": map[string]any{"name": "王", "order": id}, "purpose": "transactional", "channel": "email"})
			if code != http.StatusAccepted {
				t.Fatalf("%s refused: %d", id, code)
			}
			ids = append(ids, id)
		}
		s.eventually("sends retrying", func() bool { return s.rawStatus(ids[len(ids)-1]) == "retrying" })
		s.readyAgain(t, ft, mailFault, start)
		s.call(http.MethodPost, s.sandbox+"/api/faults", map[string]any{"channel": "email", "mode": "none"}, 200, nil)
		st = countValues(s.finalStatuses(t, ids, 90*time.Second))
		n := 0
		for _, r := range s.received("email") {
			if strings.HasPrefix(r.To, "retry") {
				n++
			}
		}
		_, twice = maxPer(s.received("email"))
		ft.check(t, mailFault, "retried, each sent once", st["sent"] == len(ids) && n == len(ids) && twice == 0,
			"%d mails retried with back-off: statuses %v, %d at the server, all out %.0f s after the fault began", len(ids), st, n, time.Since(start).Seconds())
	})

	t.Run("sandbox hangs", func(t *testing.T) {
		const fault = "SMS platform hangs"
		start := time.Now()
		s.call(http.MethodPost, s.sandbox+"/api/faults", map[string]any{"channel": "sms", "mode": "hang", "count": 10}, 200, nil)
		var ids []string
		for i := range 30 {
			id := fmt.Sprintf("hang-%d", i)
			if s.sms(id, fmt.Sprintf("1370004%04d", i)) != http.StatusAccepted {
				t.Fatalf("%s refused", id)
			}
			ids = append(ids, id)
		}
		// Callbacks are answered while every sender waits on the platform.
		t0 := time.Now()
		code, _ := s.try(http.MethodPost, s.sandbox+"/api/play/officialaccount", map[string]string{"openid": "oDuringHang", "event": "subscribe"})
		took := time.Since(t0)
		ft.check(t, fault, "callbacks answered meanwhile", code == http.StatusOK && took < 2*time.Second, "a follow answered %d in %d ms", code, took.Milliseconds())
		st := countValues(s.finalStatuses(t, ids, 60*time.Second))
		n := 0
		for _, r := range s.received("sms") {
			if strings.HasPrefix(r.To, "1370004") {
				n++
			}
		}
		_, twice := maxPer(s.received("sms"))
		ft.check(t, fault, "no message sent twice", twice == 0, "%d hung sends ended failed as outcome unknown (never resent), %d sent; %d SMS at the platform", st["failed"], st["sent"]+st["delivered"], n)
		s.readyAgain(t, ft, fault, start)
	})

	t.Run("one contact flooded from many workers", func(t *testing.T) {
		const fault = "one contact flooded (200 sends, 32 clients)"
		start := time.Now()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 32)
		ids := make([]string, 200)
		for i := range ids {
			ids[i] = fmt.Sprintf("flood-%d", i)
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				s.call(http.MethodPost, s.gateway+"/api/v1/messages", map[string]any{"id": ids[i], "contact": map[string]string{"email": "flooded@example.com"},
					"template": "webinar_reminder", "purpose": "marketing", "channel": "email",
					"vars": map[string]any{"name": "朋友", "title": "演练", "time": "明天", "url": "https://live.example.com/x"}}, 202, nil)
			}()
		}
		wg.Wait()
		st := countValues(s.finalStatuses(t, ids, 60*time.Second))
		time.Sleep(500 * time.Millisecond)
		n := len(s.emailTo("flooded@example.com"))
		ft.check(t, fault, "no cap exceeded", st["sent"] == 3 && n == 3, "statuses %v; %d mails reached the contact (marketing-weekly max 3)", st, n)
		s.readyAgain(t, ft, fault, start)
	})
}

// firstLine is the first line of a log file containing sub, after ": ".
func firstLine(path, sub string) string {
	data, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, sub) {
			return ": " + line
		}
	}
	return ""
}

// suffix names the current gateway process: "" for the first, "-N" after.
func suffix(gen int) string {
	if gen == 1 {
		return ""
	}
	return fmt.Sprintf("-%d", gen)
}
