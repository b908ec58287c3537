package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/channels/wecom"
)

// KFPuller pulls 微信客服 messages; *wecom.Sender is one. The worker
// depends on this much only, so tests can count and break pulls.
type KFPuller interface {
	SyncKF(ctx context.Context, req wecom.KFSyncRequest) (wecom.KFPage, error)
}

// KFOptions tune the 微信客服 worker; zero values take the defaults.
type KFOptions struct {
	// Block is how long one read of the inbox stream waits for a signal;
	// default 2 s. It bounds how long a stop takes.
	Block time.Duration
	// LockTTL bounds one account's pull if its process dies; each applied
	// page extends it. Default 60 s.
	LockTTL time.Duration
	// RetryAfter is how long a signal whose pull failed waits before any
	// worker takes it up again; default 30 s.
	RetryAfter time.Duration
	// Consumer names this process in the stream's consumer group; default
	// host name, process id and a random suffix.
	Consumer string
	// CatchUp is how often every account seen before is pulled without a
	// signal, from its stored cursor: WeCom may give up delivering a
	// callback (the gateway was down, the network failed), and the
	// customer's message must still be answered. One process does it per
	// interval, also right after a start. Default 5 min; negative: never.
	CatchUp time.Duration
}

const (
	// kfTokenLife is how long WeCom takes a callback's token for sync_msg;
	// after it the pull goes without, at WeCom's lower rate limit.
	kfTokenLife = 10 * time.Minute
	// kfMaxPages bounds one account's pull in one round; the rest is pulled
	// when the signal is taken up again, from the stored cursor.
	kfMaxPages = 200
	kfReadMax  = 32
)

// openKFIDPattern is what a 微信客服 account id looks like (wk…); anything
// else cannot be a key part or a request field.
var openKFIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// errKFLockLost: another process took the account over (ours lapsed), so
// this one stops without storing its cursor.
var errKFLockLost = errors.New("the 微信客服 pull lock lapsed and another process took over")

// KFWorker turns 微信客服 signals (kf_msg_or_event, stored in the inbox
// stream by the callback) into applied customer messages. WeCom's callback
// carries no message, only a token to pull with, and the callback must be
// answered fast; so pulling happens here, off the callback path, in every
// gateway process at once, with one puller per account at a time.
type KFWorker struct {
	s        *Server
	kf       KFPuller
	opt      KFOptions
	messages *prometheus.CounterVec
	caughtUp bool // this process asked for a catch-up since it started (Poll's goroutine only)
}

// KFWorker builds the 微信客服 puller for this server. Call Run in a
// goroutine of each process; they share the work through Redis.
func (s *Server) KFWorker(kf KFPuller, opt KFOptions) (*KFWorker, error) {
	if kf == nil {
		return nil, errors.New("gateway: the 微信客服 worker needs a puller (the WeCom sender)")
	}
	if opt.Block <= 0 {
		opt.Block = 2 * time.Second
	}
	if opt.LockTTL <= 0 {
		opt.LockTTL = time.Minute
	}
	if opt.RetryAfter <= 0 {
		opt.RetryAfter = 30 * time.Second
	}
	if opt.CatchUp == 0 {
		opt.CatchUp = 5 * time.Minute
	}
	if opt.Consumer == "" {
		host, _ := os.Hostname()
		opt.Consumer = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), lockToken()[:8])
	}
	messages := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_kf_messages_total",
		Help: "微信客服 messages pulled with kf/sync_msg, by outcome (applied, duplicate, skipped, ignored).",
	}, []string{"outcome"})
	if err := s.registry.Register(messages); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, err
		}
		messages = are.ExistingCollector.(*prometheus.CounterVec)
	}
	return &KFWorker{s: s, kf: kf, opt: opt, messages: messages}, nil
}

// Run pulls on every signal until ctx ends. Redis trouble is logged and
// retried; it never ends the loop.
func (w *KFWorker) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if _, err := w.Poll(ctx); err != nil && ctx.Err() == nil {
			w.s.log.Warn("微信客服 pull round failed; retrying", zap.Error(err))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// kfSignal is what the signals of one account in one round add up to.
type kfSignal struct {
	token    string // the freshest usable callback token, or ""
	tokenAt  time.Time
	entryIDs []string
}

// Poll runs one round: when a catch-up is due it pulls every known
// account; then it takes up signals whose pull failed a while ago (in any
// process), waits up to Block for new ones, pulls each account named once,
// and acknowledges the signals whose pull completed. It returns how many
// signals it acknowledged.
func (w *KFWorker) Poll(ctx context.Context) (int, error) {
	if err := w.ensureGroup(ctx); err != nil {
		return 0, err
	}
	if err := w.catchUp(ctx); err != nil && ctx.Err() == nil {
		// The signals come first: a catch-up that cannot run now runs later.
		w.s.log.Warn("微信客服 catch-up did not run", zap.Error(err))
	}
	stale, _, err := w.s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: inboxStreamKey, Group: kfGroup, Consumer: w.opt.Consumer,
		MinIdle: w.opt.RetryAfter, Start: "0-0", Count: kfReadMax}).Result()
	if err != nil {
		return 0, fmt.Errorf("gateway: take up failed 微信客服 signals: %w", err)
	}
	block := w.opt.Block
	if len(stale) > 0 {
		block = -1 // work is waiting: do not block (go-redis leaves BLOCK out)
	}
	streams, err := w.s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: kfGroup, Consumer: w.opt.Consumer,
		Streams: []string{inboxStreamKey, ">"}, Count: kfReadMax, Block: block}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("gateway: read 微信客服 signals: %w", err)
	}
	entries := stale
	for _, st := range streams {
		entries = append(entries, st.Messages...)
	}
	return w.handle(ctx, entries)
}

// ensureGroup creates the consumer group at the stream's start, so signals
// stored before the first worker ran are pulled too (a pull is cheap, and
// only the cursor decides what is new).
func (w *KFWorker) ensureGroup(ctx context.Context) error {
	err := w.s.rdb.XGroupCreateMkStream(ctx, inboxStreamKey, kfGroup, "0").Err()
	if err != nil && err.Error() != "BUSYGROUP Consumer Group name already exists" {
		return fmt.Errorf("gateway: create the 微信客服 consumer group: %w", err)
	}
	return nil
}

func (w *KFWorker) handle(ctx context.Context, entries []redis.XMessage) (int, error) {
	now := w.s.now()
	var done []string // entries with nothing (more) to do
	signals := map[string]*kfSignal{}
	var order []string
	for _, e := range entries {
		if str(e.Values["type"]) != channels.TypeKFPending {
			done = append(done, e.ID)
			continue
		}
		ev := inboxEventOf(e)
		kfid := ev.Props["open_kfid"]
		if !openKFIDPattern.MatchString(kfid) {
			w.s.log.Warn("微信客服 signal without a usable open_kfid dropped", zap.String("entry", e.ID), zap.String("open_kfid", kfid))
			done = append(done, e.ID)
			continue
		}
		sig := signals[kfid]
		if sig == nil {
			sig = &kfSignal{}
			signals[kfid] = sig
			order = append(order, kfid)
		}
		sig.entryIDs = append(sig.entryIDs, e.ID)
		if tok := ev.Props["token"]; tok != "" && now.Sub(ev.At) < kfTokenLife && !ev.At.Before(sig.tokenAt) {
			sig.token, sig.tokenAt = tok, ev.At
		}
	}
	var firstErr error
	var pulled []any // accounts the catch-up pull takes care of from now on
	for _, kfid := range order {
		sig := signals[kfid]
		err := w.pullAccount(ctx, kfid, sig.token)
		if err == nil {
			pulled = append(pulled, kfid)
		}
		if err != nil && channels.KindOfError(err) != channels.Permanent {
			// Left pending: a worker takes it up again after RetryAfter and
			// pulls from the stored cursor, so nothing is lost or doubled.
			w.s.log.Warn("微信客服 pull failed; will retry", zap.String("open_kfid", kfid), zap.Error(err))
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if err != nil {
			// WeCom refuses the account itself; retrying cannot help.
			w.s.log.Error("微信客服 pull refused; signal dropped", zap.String("open_kfid", kfid), zap.Error(err))
		}
		done = append(done, sig.entryIDs...)
	}
	if len(pulled) > 0 {
		if err := w.s.rdb.SAdd(ctx, kfAccountsKey, pulled...).Err(); err != nil {
			// The next signal's pull adds them again.
			w.s.log.Warn("微信客服 accounts not remembered for the catch-up", zap.Error(err))
		}
	}
	if len(done) > 0 {
		if err := w.s.rdb.XAck(ctx, inboxStreamKey, kfGroup, done...).Err(); err != nil {
			return 0, fmt.Errorf("gateway: acknowledge 微信客服 signals: %w", err)
		}
	}
	return len(done), firstErr
}

// inboxEventOf reads a stream entry back into an event.
func inboxEventOf(e redis.XMessage) channels.Event {
	ev := channels.Event{ID: str(e.Values["id"]), Source: channels.Channel(str(e.Values["source"])), Type: str(e.Values["type"])}
	if at, err := strconv.ParseInt(str(e.Values["at"]), 10, 64); err == nil {
		ev.At = time.Unix(at, 0)
	}
	ev.Props = map[string]string{}
	_ = json.Unmarshal([]byte(str(e.Values["props"])), &ev.Props)
	return ev
}

// kfCatchUpDue elects the one process that runs a catch-up pull now.
//
// KEYS[1] when the next catch-up is due ({kf}:catchup, unix ms); the last one ran an interval before
// ARGV[1] now (unix ms)
// ARGV[2] interval (ms)
// ARGV[3] for a process that just started: how long ago the last run must be for it to run one
// before it is due ("" = wait until due)
// Returns 1 when the caller runs it (the next is then due an interval on),
// 0 when not.
var kfCatchUpDue = redis.NewScript(`
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local due = tonumber(redis.call('GET', KEYS[1]) or '0')
if now < due and (ARGV[3] == '' or now - (due - interval) < tonumber(ARGV[3])) then
  return 0
end
redis.call('SET', KEYS[1], string.format('%d', now + interval))
return 1
`)

// kfStartGap is how long after the last catch-up a starting process runs
// another at once: restarts in a row must not each pull every account
// without a token, at WeCom's strict limit for that.
const kfStartGap = time.Minute

// catchUp pulls every account seen in a signal before, without a token
// (WeCom's lower rate limit for that is far above one pull per interval),
// when a catch-up is due. A pull that fails for a passing reason leaves a
// signal for the account, so the usual retry takes it up (the pull may
// have carried a signal's token handed over through the account's lock).
// An account WeCom says does not exist is forgotten; a rate limit ends the
// round.
func (w *KFWorker) catchUp(ctx context.Context) error {
	if w.opt.CatchUp < 0 {
		return nil
	}
	gap := ""
	if !w.caughtUp {
		gap = strconv.FormatInt(min(kfStartGap, w.opt.CatchUp).Milliseconds(), 10)
	}
	due, err := kfCatchUpDue.Run(ctx, w.s.rdb, []string{kfCatchUpKey}, w.s.now().UnixMilli(), w.opt.CatchUp.Milliseconds(), gap).Int()
	if err != nil {
		return fmt.Errorf("gateway: check the 微信客服 catch-up: %w", err)
	}
	w.caughtUp = true
	if due == 0 {
		return nil
	}
	accounts, err := w.s.rdb.SMembers(ctx, kfAccountsKey).Result()
	if err != nil {
		return fmt.Errorf("gateway: read 微信客服 accounts: %w", err)
	}
	for _, kfid := range accounts {
		err := w.pullAccount(ctx, kfid, "")
		var se *channels.SendError
		errors.As(err, &se)
		switch {
		case err == nil:
		case se != nil && (se.Code == "95000" || se.Code == "95004"):
			w.s.log.Error("微信客服 account unknown to WeCom; no longer pulled by the catch-up", zap.String("open_kfid", kfid), zap.Error(err))
			if err := w.s.rdb.SRem(ctx, kfAccountsKey, kfid).Err(); err != nil {
				return fmt.Errorf("gateway: forget 微信客服 account %s: %w", kfid, err)
			}
		case channels.KindOfError(err) == channels.Permanent:
			w.s.log.Error("微信客服 catch-up pull refused", zap.String("open_kfid", kfid), zap.Error(err))
		default:
			w.s.log.Warn("微信客服 catch-up pull failed; left to the usual retry", zap.String("open_kfid", kfid), zap.Error(err))
			if _, err := w.s.inbox.record(ctx, w.retrySignal(kfid)); err != nil {
				return fmt.Errorf("gateway: leave a retry signal for 微信客服 account %s: %w", kfid, err)
			}
			if se != nil && (se.Code == "45009" || se.Code == "45033") {
				return nil // rate limited: the other accounts wait for the next round
			}
		}
	}
	return nil
}

// retrySignal stands for a signal whose pull failed: the worker that takes
// it pulls the account from its cursor.
func (w *KFWorker) retrySignal(kfid string) channels.Event {
	now := w.s.now()
	return channels.Event{ID: "wecom:kf-retry:" + kfid + ":" + strconv.FormatInt(now.UnixNano(), 10), Source: channels.WeCom,
		Type: channels.TypeKFPending, At: now, Props: map[string]string{"open_kfid": kfid}}
}

// kfLock takes an account's pull lock, or, when another process holds it,
// leaves it a flag (with our token) so it pulls once more before letting
// go: a message that arrived after its last page is not left waiting.
//
// KEYS[1] lock ({kf:<open_kfid>}:lock)
// KEYS[2] again flag ({kf:<open_kfid>}:again)
// ARGV[1] owner id
// ARGV[2] lock TTL in milliseconds
// ARGV[3] callback token to pass on ("" for none)
// Returns 1 when the lock is ours, 0 when the flag was left instead.
var kfLock = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 1
end
if ARGV[3] ~= '' or redis.call('EXISTS', KEYS[2]) == 0 then
  -- a flag that carries a token keeps it over one without
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
end
return 0
`)

// kfSaveCursor stores the cursor after a page was applied, only while the
// lock is still ours, and extends the lock for the next page.
//
// KEYS[1] lock
// KEYS[2] cursor ({kf:<open_kfid>}:cursor)
// ARGV[1] owner id
// ARGV[2] next_cursor
// ARGV[3] lock TTL in milliseconds
// Returns 1 when stored, 0 when the lock is lost (nothing stored).
var kfSaveCursor = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// kfUnlock ends a pull: if a signal left the flag meanwhile, it keeps the
// lock and hands back the flag's token for one more pull.
//
// KEYS[1] lock
// KEYS[2] again flag
// ARGV[1] owner id
// ARGV[2] lock TTL in milliseconds
// Returns {2, token} to pull again, {1, ""} when released, {0, ""} when
// the lock was no longer ours.
var kfUnlock = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0, ''} end
local again = redis.call('GET', KEYS[2])
if again then
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {2, again}
end
redis.call('DEL', KEYS[1])
return {1, ''}
`)

// pullAccount pulls one account until has_more is 0, applying each page
// before storing its cursor: a crash re-pulls the page, and the message id
// de-duplication makes that exactly-once.
func (w *KFWorker) pullAccount(ctx context.Context, kfid, token string) error {
	owner := lockToken()
	ttl := w.opt.LockTTL.Milliseconds()
	keys := []string{kfLockKey(kfid), kfAgainKey(kfid)}
	got, err := kfLock.Run(ctx, w.s.rdb, keys, owner, ttl, token).Int()
	if err != nil {
		return fmt.Errorf("gateway: lock 微信客服 account %s: %w", kfid, err)
	}
	if got == 0 {
		return nil // the holder pulls again for us
	}
	for {
		if err := w.pullPages(ctx, kfid, token, owner); err != nil {
			_ = releaseLock.Run(context.WithoutCancel(ctx), w.s.rdb, keys[:1], owner).Err()
			return err
		}
		res, err := kfUnlock.Run(ctx, w.s.rdb, keys, owner, ttl).Slice()
		if err != nil {
			return fmt.Errorf("gateway: unlock 微信客服 account %s: %w", kfid, err)
		}
		if len(res) != 2 || res[0] != int64(2) {
			return nil
		}
		token, _ = res[1].(string)
	}
}

func (w *KFWorker) pullPages(ctx context.Context, kfid, token, owner string) error {
	cursor, err := w.s.rdb.Get(ctx, kfCursorKey(kfid)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("gateway: read 微信客服 cursor of %s: %w", kfid, err)
	}
	for range kfMaxPages {
		page, err := w.kf.SyncKF(ctx, wecom.KFSyncRequest{Cursor: cursor, Token: token, OpenKFID: kfid})
		if err != nil {
			return err
		}
		for _, why := range page.Skipped {
			w.messages.WithLabelValues("skipped").Inc()
			w.s.log.Warn("微信客服 message skipped", zap.String("open_kfid", kfid), zap.String("why", why))
		}
		for _, m := range page.Messages {
			outcome, err := w.apply(ctx, m)
			if err != nil {
				return err
			}
			w.messages.WithLabelValues(outcome).Inc()
		}
		if page.NextCursor != "" && page.NextCursor != cursor {
			saved, err := kfSaveCursor.Run(ctx, w.s.rdb, []string{kfLockKey(kfid), kfCursorKey(kfid)}, owner, page.NextCursor, w.opt.LockTTL.Milliseconds()).Int()
			if err != nil {
				return fmt.Errorf("gateway: store 微信客服 cursor of %s: %w", kfid, err)
			}
			if saved == 0 {
				return errKFLockLost
			}
			cursor = page.NextCursor
		}
		if !page.HasMore {
			return nil
		}
	}
	return fmt.Errorf("gateway: 微信客服 account %s still has more after %d pages; continuing later", kfid, kfMaxPages)
}

// apply turns one pulled entry into an event for the customer and ingests
// it like a callback: the contact is changed once per msgid, and a
// customer's text reaches the dialog engine, whose replies go back into
// the session (see outreach.KFAccountField).
func (w *KFWorker) apply(ctx context.Context, m wecom.KFMessage) (string, error) {
	ev, ok := w.eventOf(m)
	if !ok {
		return outcomeIgnored, nil
	}
	return w.s.ingest(ctx, ev)
}

func (w *KFWorker) eventOf(m wecom.KFMessage) (channels.Event, bool) {
	if m.ExternalUserID == "" {
		return channels.Event{}, false // an event about the account or a servicer, not a customer
	}
	at := m.SendTime
	if at.Unix() <= 0 {
		at = w.s.now()
	}
	ev := channels.Event{
		ID:      "wecom:kf:" + m.MsgID,
		Source:  channels.WeCom,
		At:      at,
		Contact: []channels.Identity{{Kind: channels.ExternalUserID, Value: m.ExternalUserID}},
		Props:   map[string]string{"open_kfid": m.OpenKFID, "msg_id": m.MsgID},
	}
	switch {
	case m.Origin == wecom.KFOriginCustomer && m.Event == nil:
		ev.Type, ev.Text = channels.TypeMessage, m.Text
		ev.Props["msg_type"] = m.MsgType
	case m.Origin == wecom.KFOriginServicer:
		ev.Type, ev.Text = channels.TypeKFServicerMessage, m.Text
		ev.Props["msg_type"] = m.MsgType
	case m.Event != nil && m.Event.Type == "enter_session":
		ev.Type = channels.TypeKFSessionEntered
		for k, v := range map[string]string{"scene": m.Event.Scene, "scene_param": m.Event.SceneParam, "welcome_code": m.Event.WelcomeCode} {
			if v != "" {
				ev.Props[k] = v
			}
		}
	case m.Event != nil:
		ev.Type = channels.TypeKFEvent
		ev.Props["event_type"] = m.Event.Type
	default:
		return channels.Event{}, false
	}
	return ev, true
}
