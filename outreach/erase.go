package outreach

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Erasure and export of one person's outreach records (PIPL and GDPR).
// Message records, cap reservations, coupon holdings, campaign audiences
// and queued tasks are keyed by message, rule, batch or campaign, not by
// contact, so both walk the keyspace once (SCAN, on every master of a
// Cluster) and pick out what concerns the contact. That costs one pass
// over all keys per request, which suits a rare, deliberate request; it
// never blocks Redis, since SCAN works in small steps.

//go:embed scripts/erase_audience.lua
var eraseAudienceLua string

var eraseAudience = redis.NewScript(eraseAudienceLua)

// repLatestErase deletes a rep's "latest hand-off" pointer when it points
// at the erased contact.
//
// KEYS: 1 {handoff}:rep:<rep>
// ARGV: 1 the contact id
// Returns 1 when deleted, 0 when it pointed elsewhere or was gone.
var repLatestErase = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// couponErase takes a contact off a batch: its holder entry goes, and its
// code stays issued (and redeemed, if it was) but to no one, so the
// batch's counts and the code's single use hold.
//
// KEYS (slot {cpn:<batch>}): 1 {cpn:<batch>}:holder, 2 {cpn:<batch>}:codes
// ARGV: 1 the contact id, 2 the marker the code keeps instead of the id
// Returns the code the contact held, or false when it held none.
var couponErase = redis.NewScript(`
local code = redis.call('HGET', KEYS[1], ARGV[1])
if not code then
  return false
end
redis.call('HSET', KEYS[2], code, ARGV[2])
redis.call('HDEL', KEYS[1], ARGV[1])
return code`)

// ErasedHolder is what a coupon code issued to an erased contact points
// at from then on: counted as issued, belonging to no one.
const ErasedHolder = "erased"

// ErrBusy means a task for the contact is running right now; repeat the
// erasure in a few seconds, when it has finished.
var ErrBusy = errors.New("a task for this contact is running")

// Footprint is a contact's outreach records found by one keyspace pass.
type footprint struct {
	messages []string          // message ids
	tasks    map[string]string // task id -> queue
	caps     []string          // cap keys
	holders  []string          // coupon holder keys with the contact
	audience []string          // campaign ids with the contact in the audience
	seen     []string          // campaign seen keys
	reps     []string          // rep latest-hand-off keys
	open     []string          // open hand-off indexes (all, per rep)
}

const scanCount = 1000

// scanAll calls fn with every key, a page at a time, on every master. The
// masters are walked at once, but fn is called by one at a time.
func scanAll(ctx context.Context, rdb redis.UniversalClient, fn func(c redis.UniversalClient, keys []string) error) error {
	var mu sync.Mutex
	each := func(ctx context.Context, c redis.UniversalClient) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, "", scanCount).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			err = fn(c, keys)
			mu.Unlock()
			if err != nil {
				return err
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return each(ctx, c) })
	}
	return each(ctx, rdb)
}

// find walks the keyspace for a person's records. ids are every contact id
// the person had (the surviving contact first, then the ids merged into
// it: records made before a merge keep the old id); mentions are strings
// (identity values) that mark a queued task as the person's.
func (p *Pipeline) find(ctx context.Context, ids, mentions []string) (*footprint, error) {
	fp := &footprint{tasks: map[string]string{}}
	capPrefixes := make([]string, len(ids))
	needles := make([][]byte, 0, len(ids)+len(mentions))
	for i, id := range ids {
		capPrefixes[i] = capKeyPrefix(id)
		needles = append(needles, []byte(id))
	}
	for _, m := range mentions {
		if len(m) >= 4 {
			needles = append(needles, []byte(m))
		}
	}
	err := scanAll(ctx, p.rdb, func(c redis.UniversalClient, keys []string) error {
		var msgKeys, taskKeys, holderKeys, repKeys []string
		for _, k := range keys {
			switch {
			case strings.HasPrefix(k, "{m:"):
				msgKeys = append(msgKeys, k)
			case strings.HasPrefix(k, "asynq:{") && strings.Contains(k, "}:t:"):
				taskKeys = append(taskKeys, k)
			case strings.HasPrefix(k, "{cpn:") && strings.HasSuffix(k, "}:holder"):
				holderKeys = append(holderKeys, k)
			case strings.HasPrefix(k, "{camp:") && strings.HasSuffix(k, "}:aud"):
				fp.audience = append(fp.audience, strings.TrimSuffix(strings.TrimPrefix(k, "{camp:"), "}:aud"))
			case strings.HasPrefix(k, "{camp:") && strings.HasSuffix(k, "}:seen"):
				fp.seen = append(fp.seen, k)
			case strings.HasPrefix(k, "{handoff}:rep:"):
				repKeys = append(repKeys, k)
			case k == openHandoffsKey || strings.HasPrefix(k, repOpenKey("")):
				fp.open = append(fp.open, k)
			default:
				for _, pre := range capPrefixes {
					if strings.HasPrefix(k, pre) {
						fp.caps = append(fp.caps, k)
					}
				}
			}
		}
		owners := make([]*redis.StringCmd, len(msgKeys))
		msgs := make([]*redis.StringCmd, len(taskKeys))
		holders := make([]*redis.SliceCmd, len(holderKeys))
		reps := make([]*redis.StringCmd, len(repKeys))
		if len(keys) == 0 {
			return nil
		}
		_, err := c.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i, k := range msgKeys {
				owners[i] = pipe.HGet(ctx, k, "contact_id")
			}
			for i, k := range taskKeys {
				msgs[i] = pipe.HGet(ctx, k, "msg")
			}
			for i, k := range holderKeys {
				holders[i] = pipe.HMGet(ctx, k, ids...)
			}
			for i, k := range repKeys {
				reps[i] = pipe.Get(ctx, k)
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for i, k := range msgKeys {
			if slices.Contains(ids, owners[i].Val()) {
				fp.messages = append(fp.messages, strings.TrimSuffix(strings.TrimPrefix(k, "{m:"), "}"))
			}
		}
		for i, k := range taskKeys {
			queue, id, ok := taskOf(k)
			if !ok {
				continue
			}
			body := []byte(msgs[i].Val())
			for _, n := range needles {
				if strings.Contains(id, string(n)) || bytes.Contains(body, n) {
					fp.tasks[id] = queue
					break
				}
			}
		}
		for i, k := range holderKeys {
			for _, v := range holders[i].Val() {
				if v != nil {
					fp.holders = append(fp.holders, k)
					break
				}
			}
		}
		for i, k := range repKeys {
			if slices.Contains(ids, reps[i].Val()) {
				fp.reps = append(fp.reps, k)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outreach: find the records of contact %s: %w", ids[0], err)
	}
	slices.Sort(fp.messages)
	return fp, nil
}

// taskOf splits an asynq task key "asynq:{<queue>}:t:<id>".
func taskOf(key string) (queue, id string, ok bool) {
	rest := strings.TrimPrefix(key, "asynq:{")
	queue, id, ok = strings.Cut(rest, "}:t:")
	return queue, id, ok && queue != "" && id != ""
}

// Erased counts what EraseContact removed.
type Erased struct {
	Messages        int `json:"messages"`
	Tasks           int `json:"queued_tasks"`
	CapReservations int `json:"cap_reservations"`
	Coupons         int `json:"coupons"`
	CampaignEntries int `json:"campaign_entries"`
	Handoffs        int `json:"handoffs"`
}

// EraseContact removes contactID's outreach records: its messages and their
// queued tasks, any other task naming it (hand-off checks, tag mirroring,
// rep notices), its cap reservations, its coupon holdings (the codes stay
// issued and redeemed, to no one, so the batch counts hold), its place in
// campaign audiences and their reaction records, and its hand-off records.
// Campaign statistics are counts and stay. ids are every contact id the
// person had, the surviving one first (see contacts.Holdings), and
// mentions its identity values. It is safe to repeat; a task running at
// the time makes it fail with ErrBusy after erasing everything else, and
// a repeat then finishes.
func (p *Pipeline) EraseContact(ctx context.Context, ids, mentions []string) (Erased, error) {
	var out Erased
	if len(ids) == 0 {
		return out, fmt.Errorf("%w: EraseContact needs the contact's id", ErrInvalid)
	}
	contactID := ids[0]
	fp, err := p.find(ctx, ids, mentions)
	if err != nil {
		return out, err
	}
	for _, id := range fp.messages {
		if _, ok := fp.tasks[id]; !ok {
			fp.tasks[id] = "" // a message's task, wherever it is queued
		}
	}
	var busy []string
	taskIDs := make([]string, 0, len(fp.tasks))
	for id := range fp.tasks {
		taskIDs = append(taskIDs, id)
	}
	slices.Sort(taskIDs)
	for _, id := range taskIDs {
		queues := []string{fp.tasks[id]}
		if queues[0] == "" {
			queues = queueNames()
		}
		for _, q := range queues {
			err := p.inspect.DeleteTask(q, id)
			switch {
			case err == nil:
				out.Tasks++
			case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			default:
				busy = append(busy, id+" ("+err.Error()+")")
			}
		}
	}
	for _, id := range fp.messages {
		n, err := p.rdb.Del(ctx, messageKey(id)).Result()
		if err != nil {
			return out, fmt.Errorf("outreach: erase message %s: %w", id, err)
		}
		out.Messages += int(n)
	}
	for _, k := range fp.caps {
		n, err := p.rdb.Del(ctx, k).Result()
		if err != nil {
			return out, fmt.Errorf("outreach: erase cap reservations of %s: %w", contactID, err)
		}
		out.CapReservations += int(n)
	}
	for _, id := range ids {
		for _, k := range fp.holders {
			batch := strings.TrimSuffix(strings.TrimPrefix(k, "{cpn:"), "}:holder")
			err := couponErase.Run(ctx, p.rdb, []string{couponHolderKey(batch), couponCodesKey(batch)}, id, ErasedHolder).Err()
			if err == nil {
				out.Coupons++
			} else if !errors.Is(err, redis.Nil) {
				return out, fmt.Errorf("outreach: erase coupon of %s in batch %s: %w", contactID, batch, err)
			}
		}
		for _, camp := range fp.audience {
			n, err := eraseAudience.Run(ctx, p.rdb, []string{campaignKey(camp), campaignAudienceKey(camp)}, id).Int()
			if err != nil {
				return out, fmt.Errorf("outreach: erase %s from campaign %s: %w", contactID, camp, err)
			}
			out.CampaignEntries += n
		}
		for _, k := range fp.seen {
			camp := strings.TrimSuffix(strings.TrimPrefix(k, "{camp:"), "}:seen")
			if err := p.rdb.SRem(ctx, k, camp+"-"+id).Err(); err != nil {
				return out, fmt.Errorf("outreach: erase %s from campaign %s: %w", contactID, camp, err)
			}
		}
		n, err := p.rdb.Del(ctx, handoffKey(id)).Result()
		if err != nil {
			return out, fmt.Errorf("outreach: erase hand-off of %s: %w", contactID, err)
		}
		out.Handoffs += int(n)
		for _, k := range fp.open {
			if err := p.rdb.ZRem(ctx, k, id).Err(); err != nil {
				return out, fmt.Errorf("outreach: erase hand-off of %s: %w", contactID, err)
			}
		}
		for _, k := range fp.reps {
			if err := repLatestErase.Run(ctx, p.rdb, []string{k}, id).Err(); err != nil {
				return out, fmt.Errorf("outreach: erase hand-off of %s: %w", contactID, err)
			}
		}
	}
	if len(busy) > 0 {
		return out, fmt.Errorf("%w: %s", ErrBusy, strings.Join(busy, "; "))
	}
	return out, nil
}

func queueNames() []string {
	names := make([]string, 0, len(Queues))
	for q := range Queues {
		names = append(names, q)
	}
	slices.Sort(names)
	return names
}

// HeldCoupon is a coupon code in an export.
type HeldCoupon struct {
	Batch      string     `json:"batch"`
	Code       string     `json:"code"`
	RedeemedAt *time.Time `json:"redeemed_at,omitempty"`
	OrderID    string     `json:"order_id,omitempty"`
}

// Export is a contact's outreach records for an access request.
type Export struct {
	Messages []*Message        `json:"messages"`
	Coupons  []HeldCoupon      `json:"coupons"`
	Handoff  map[string]string `json:"handoff,omitempty"`
}

// ExportContact reads every message sent (or queued) to the person with its
// status, the coupons it holds and its hand-off record. ids are every
// contact id it had, the surviving one first (see contacts.Holdings).
func (p *Pipeline) ExportContact(ctx context.Context, ids []string) (*Export, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: ExportContact needs the contact's id", ErrInvalid)
	}
	contactID := ids[0]
	fp, err := p.find(ctx, ids, nil)
	if err != nil {
		return nil, err
	}
	out := &Export{Messages: []*Message{}, Coupons: []HeldCoupon{}}
	for _, id := range fp.messages {
		m, err := p.records.get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // expired since the scan
		}
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, m)
	}
	for _, k := range fp.holders {
		batch := strings.TrimSuffix(strings.TrimPrefix(k, "{cpn:"), "}:holder")
		codes, err := p.rdb.HMGet(ctx, couponHolderKey(batch), ids...).Result()
		if err != nil {
			return nil, fmt.Errorf("outreach: export coupons of %s: %w", contactID, err)
		}
		for _, c := range codes {
			code, ok := c.(string)
			if !ok {
				continue
			}
			hc, err := p.heldCoupon(ctx, batch, code)
			if err != nil {
				return nil, err
			}
			out.Coupons = append(out.Coupons, hc)
		}
	}
	for _, id := range ids {
		h, err := p.rdb.HGetAll(ctx, handoffKey(id)).Result()
		if err != nil {
			return nil, fmt.Errorf("outreach: export hand-off of %s: %w", contactID, err)
		}
		if len(h) > 0 && out.Handoff == nil {
			out.Handoff = h
		}
	}
	return out, nil
}

func (p *Pipeline) heldCoupon(ctx context.Context, batch, code string) (HeldCoupon, error) {
	hc := HeldCoupon{Batch: batch, Code: code}
	used, err := p.rdb.HGet(ctx, couponRedeemedKey(batch), code).Result()
	if errors.Is(err, redis.Nil) {
		return hc, nil
	}
	if err != nil {
		return hc, fmt.Errorf("outreach: export coupon %s: %w", code, err)
	}
	ms, order, _ := strings.Cut(used, ":")
	n, _ := strconv.ParseInt(ms, 10, 64)
	at := time.UnixMilli(n).UTC()
	hc.RedeemedAt, hc.OrderID = &at, order
	return hc, nil
}
