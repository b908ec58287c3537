package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// handleDispatch runs one dispatch step. The audience is resolved once and
// frozen in dispatch order; "dispatched" is the cursor into it. Message ids
// are "<campaign>-<contact id>", so a step that dies mid-batch and runs
// again queues nothing twice. Steps stop between batches when the campaign
// was paused or cancelled, at the end of the pilot and of the A/B test
// share (to wait PhaseWait for results), and when the guardrail trips.
func (cs *Campaigns) handleDispatch(ctx context.Context, t *asynq.Task) error {
	var pl taskPayload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil || pl.ID == "" {
		return fmt.Errorf("outreach: bad campaign task payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	c, err := cs.Get(ctx, pl.ID)
	if errors.Is(err, ErrCampaignNotFound) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	switch c.Status {
	case CampaignCancelled:
		return cs.withdraw(ctx, c)
	case CampaignPaused:
		return cs.ensureOwnerNotified(ctx, c)
	case CampaignDone:
		return nil
	case CampaignScheduled:
		if _, _, err := cs.move(ctx, c.ID, []CampaignStatus{CampaignScheduled}, CampaignRunning); err != nil {
			return err
		}
	}
	frozen, err := cs.rdb.HExists(ctx, campaignKey(c.ID), "audience_size").Result()
	if err != nil {
		return fmt.Errorf("outreach: read campaign %s: %w", c.ID, err)
	}
	if !frozen {
		if c.AudienceSize, err = cs.freeze(ctx, c); err != nil {
			return err
		}
	}
	return cs.run(ctx, c)
}

// freeze resolves the audience and stores it in dispatch order: by a hash
// of campaign and contact, so the pilot and test shares are a random
// sample rather than the lowest ids.
func (cs *Campaigns) freeze(ctx context.Context, c *Campaign) (int, error) {
	a, err := ParseAudience(c.Audience)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	ids, err := a.Resolve(ctx, cs.src)
	if errors.Is(err, ErrAudience) {
		_, _, _ = cs.move(ctx, c.ID, []CampaignStatus{CampaignRunning}, CampaignPaused, "notice", err.Error())
		return 0, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return 0, err
	}
	slices.SortFunc(ids, func(x, y string) int {
		hx, hy := spread(c.ID, x), spread(c.ID, y)
		switch {
		case hx < hy:
			return -1
		case hx > hy:
			return 1
		}
		return compareStrings(x, y)
	})
	key := campaignAudienceKey(c.ID)
	_, err = cs.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, key)
		for chunk := range slices.Chunk(ids, 1000) {
			members := make([]any, len(chunk))
			for i, id := range chunk {
				members[i] = id
			}
			pipe.RPush(ctx, key, members...)
		}
		pipe.PExpire(ctx, key, cs.pipe.opt.MessageTTL)
		pipe.HSet(ctx, campaignKey(c.ID), "audience_size", len(ids))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("outreach: store audience of campaign %s: %w", c.ID, err)
	}
	cs.opt.Log.Info("campaign audience frozen", zap.String("campaign", c.ID), zap.Int("contacts", len(ids)))
	return len(ids), nil
}

func compareStrings(x, y string) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// spread is the deterministic hash behind dispatch order and variants.
func spread(campaign, contact string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(campaign + "|" + contact))
	return h.Sum64()
}

// assignVariant picks a variant by weight from the contact's hash, so a
// re-run gives every contact the same variant.
func assignVariant(c *Campaign, contact string) Variant {
	total := 0
	for _, v := range c.Variants {
		total += v.Weight
	}
	// A second hash input keeps variant and dispatch order independent.
	n := int(spread(c.ID+"#variant", contact) % uint64(total))
	for _, v := range c.Variants {
		if n < v.Weight {
			return v
		}
		n -= v.Weight
	}
	return c.Variants[len(c.Variants)-1]
}

// phases returns where the pilot ends and where the A/B test share ends.
func phases(c *Campaign) (pilotEnd, testEnd int) {
	share := func(f float64) int {
		if f <= 0 {
			return 0
		}
		return max(1, int(math.Ceil(f*float64(c.AudienceSize))))
	}
	pilotEnd = min(share(c.PilotShare), c.AudienceSize)
	testEnd = c.AudienceSize
	if c.TestShare > 0 {
		testEnd = min(pilotEnd+share(c.TestShare), c.AudienceSize)
	}
	return pilotEnd, testEnd
}

func (cs *Campaigns) run(ctx context.Context, c *Campaign) error {
	pilotEnd, testEnd := phases(c)
	for c.Dispatched < c.AudienceSize {
		if c.Dispatched == pilotEnd && pilotEnd > 0 || c.Dispatched == testEnd && c.TestShare > 0 {
			wait, err := cs.gate(ctx, c, c.Dispatched == testEnd && c.TestShare > 0)
			if err != nil || wait {
				return err
			}
		}
		end := min(c.Dispatched+cs.opt.BatchSize, c.AudienceSize)
		for _, g := range []int{pilotEnd, testEnd} {
			if g > c.Dispatched && g < end {
				end = g
			}
		}
		if err := cs.dispatchBatch(ctx, c, c.Dispatched, end, testEnd); err != nil {
			return err
		}
		c.Dispatched = end
		now, err := cs.Get(ctx, c.ID)
		if err != nil {
			return err
		}
		switch now.Status {
		case CampaignCancelled:
			return cs.withdraw(ctx, now)
		case CampaignPaused:
			return nil
		}
		if stop, err := cs.checkGuardrail(ctx, c); err != nil || stop {
			return err
		}
	}
	_, _, err := cs.move(ctx, c.ID, []CampaignStatus{CampaignRunning}, CampaignDone)
	return err
}

// dispatchBatch queues messages for audience positions [from, to).
func (cs *Campaigns) dispatchBatch(ctx context.Context, c *Campaign, from, to, testEnd int) error {
	ids, err := cs.rdb.LRange(ctx, campaignAudienceKey(c.ID), int64(from), int64(to-1)).Result()
	if err != nil {
		return fmt.Errorf("outreach: read audience of campaign %s: %w", c.ID, err)
	}
	items := make([]BatchItem, len(ids))
	for i, id := range ids {
		v := assignVariant(c, id)
		if from+i >= testEnd && c.Winner != "" {
			v = c.variant(c.Winner)
		}
		vars := make(map[string]any, len(c.Vars)+2)
		for k, val := range c.Vars {
			vars[k] = val
		}
		vars["campaign"], vars["variant"] = c.ID, v.Name
		items[i] = BatchItem{ID: c.ID + "-" + id, ContactID: id, Template: v.Template, Variant: v.Name, Vars: vars}
	}
	if _, err := cs.pipe.SubmitBatch(ctx, Batch{Items: items, Purpose: c.Purpose, Channel: c.Channel, Campaign: c.ID}); err != nil {
		return err
	}
	if err := cs.rdb.HSet(ctx, campaignKey(c.ID), "dispatched", to, "updated_at", msString(cs.opt.Now())).Err(); err != nil {
		return fmt.Errorf("outreach: record progress of campaign %s: %w", c.ID, err)
	}
	return nil
}

func (c *Campaign) variant(name string) Variant {
	for _, v := range c.Variants {
		if v.Name == name {
			return v
		}
	}
	return c.Variants[0]
}

// gate holds dispatch at the end of the pilot or the test share until
// PhaseWait has passed, then checks the guardrail and, after the test
// share, picks the winner. It reports whether dispatch must stop for now.
func (cs *Campaigns) gate(ctx context.Context, c *Campaign, test bool) (bool, error) {
	field := "gate:" + strconv.Itoa(c.Dispatched)
	h, err := cs.rdb.HMGet(ctx, campaignKey(c.ID), field, field+":passed").Result()
	if err != nil {
		return false, fmt.Errorf("outreach: read campaign %s: %w", c.ID, err)
	}
	if h[1] != nil {
		return false, nil
	}
	now := cs.opt.Now()
	opened := now
	if s, ok := h[0].(string); ok {
		opened = msTime(s)
	} else if err := cs.rdb.HSet(ctx, campaignKey(c.ID), field, msString(now)).Err(); err != nil {
		return false, fmt.Errorf("outreach: record phase of campaign %s: %w", c.ID, err)
	}
	if ready := opened.Add(cs.opt.PhaseWait); now.Before(ready) {
		return true, cs.schedule(ctx, c.ID, field+"@"+msString(ready), ready)
	}
	if stop, err := cs.checkGuardrail(ctx, c); err != nil || stop {
		return true, err
	}
	if test {
		stats, err := cs.Stats(ctx, c.ID)
		if err != nil {
			return true, err
		}
		giveUp := opened.Add(3 * cs.opt.PhaseWait)
		if stats.Totals[StatOpened] < int64(c.WinnerOpens) && now.Before(giveUp) {
			next := now.Add(cs.opt.PhaseWait)
			if next.After(giveUp) {
				next = giveUp
			}
			return true, cs.schedule(ctx, c.ID, field+"@"+msString(next), next)
		}
		c.Winner = pickWinner(c, stats)
		if err := cs.rdb.HSet(ctx, campaignKey(c.ID), "winner", c.Winner).Err(); err != nil {
			return true, fmt.Errorf("outreach: record winner of campaign %s: %w", c.ID, err)
		}
		cs.opt.Log.Info("campaign winner picked", zap.String("campaign", c.ID), zap.String("variant", c.Winner))
	}
	if err := cs.rdb.HSet(ctx, campaignKey(c.ID), field+":passed", msString(now)).Err(); err != nil {
		return true, fmt.Errorf("outreach: record phase of campaign %s: %w", c.ID, err)
	}
	return false, nil
}

// pickWinner is the variant with the best open rate; ties go to the one
// listed first, and a variant that sent nothing cannot win.
func pickWinner(c *Campaign, s *CampaignStats) string {
	best, bestRate := c.Variants[0].Name, -1.0
	for _, v := range c.Variants {
		sent := s.variantTotal(v.Name, string(StatusSent))
		if sent == 0 {
			continue
		}
		if rate := float64(s.variantTotal(v.Name, StatOpened)) / float64(sent); rate > bestRate {
			best, bestRate = v.Name, rate
		}
	}
	return best
}

// checkGuardrail pauses a campaign whose results breach its guardrail and
// tells the owner. It reports whether the campaign was stopped.
func (cs *Campaigns) checkGuardrail(ctx context.Context, c *Campaign) (bool, error) {
	g := c.Guardrail
	if g == nil {
		return false, nil
	}
	stats, err := cs.Stats(ctx, c.ID)
	if err != nil {
		return false, err
	}
	breach, tripped := guardrailBreach(g, stats)
	if !tripped {
		return false, nil
	}
	now := cs.opt.Now()
	notice := fmt.Sprintf("paused by the guardrail at %s: %s; check the content and audience, then resume or cancel",
		now.UTC().Format(time.RFC3339), breach)
	raw, _ := json.Marshal(breach)
	trippedAt := now.UnixMilli()
	moved, _, err := cs.move(ctx, c.ID, []CampaignStatus{CampaignRunning}, CampaignPaused, "notice", notice,
		"tripped_at", strconv.FormatInt(trippedAt, 10), "breach", string(raw))
	if err != nil {
		return false, err
	}
	if moved {
		return true, cs.notifyOwner(ctx, c, breach, trippedAt)
	}
	return true, nil
}

func guardrailBreach(g *Guardrail, s *CampaignStats) (GuardrailBreach, bool) {
	sent := s.Totals[string(StatusSent)]
	if sent < int64(g.MinSends) {
		return GuardrailBreach{}, false
	}
	opened, unsubscribed := s.Totals[StatOpened], s.Totals[StatUnsubscribed]
	if open := float64(opened) / float64(sent); g.MinOpenRate > 0 && open < g.MinOpenRate {
		return GuardrailBreach{KPI: KPIOpenRate, Rate: open, Limit: g.MinOpenRate, Sends: sent, Count: opened}, true
	}
	if unsub := float64(unsubscribed) / float64(sent); g.MaxUnsubscribeRate > 0 && unsub > g.MaxUnsubscribeRate {
		return GuardrailBreach{KPI: KPIUnsubscribeRate, Rate: unsub, Limit: g.MaxUnsubscribeRate, Sends: sent, Count: unsubscribed}, true
	}
	return GuardrailBreach{}, false
}

// withdraw cancels the queued messages of a cancelled campaign. Messages
// already sending or sent stay as they are.
func (cs *Campaigns) withdraw(ctx context.Context, c *Campaign) error {
	ids, err := cs.rdb.LRange(ctx, campaignAudienceKey(c.ID), 0, int64(c.Dispatched-1)).Result()
	if err != nil {
		return fmt.Errorf("outreach: read audience of campaign %s: %w", c.ID, err)
	}
	if c.Dispatched == 0 {
		ids = nil
	}
	for _, id := range ids {
		_, err := cs.pipe.Cancel(ctx, c.ID+"-"+id)
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrTooLate) {
			return err
		}
	}
	return nil
}
