package outreach

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
)

// Coupon expiry reminders. A batch with RemindBefore and RemindTemplate
// gives every code it issues one automatic reminder, scheduled at issue
// time for ExpiresAt - RemindBefore under an id made of batch and code, so
// issuing the code again or retrying the issue never queues a second one.
// Whether it still makes sense is decided at send time, right before the
// platform call (coupon_remind_claim.lua): a code redeemed meanwhile, an
// expired batch, or a manual reminder (POST .../remind) that already went
// out suppresses it. Deciding then, rather than cancelling on redemption,
// also covers a redemption that lands while the reminder is queued behind
// quiet hours or retries, and needs no step that a crash could skip.

var (
	//go:embed scripts/coupon_remind_claim.lua
	couponRemindClaimLua string
	//go:embed scripts/coupon_remind_release.lua
	couponRemindReleaseLua string
)

// Reasons a coupon reminder is suppressed at send time; Message.Reason
// carries them.
const (
	ReasonCouponRedeemed = "coupon-redeemed"
	ReasonCouponExpired  = "coupon-expired"
	ReasonCouponReminded = "coupon-reminded"
)

// maxRemindBefore bounds RemindBefore: a reminder months ahead of expiry is
// a new campaign, not a reminder.
const maxRemindBefore = 90 * 24 * time.Hour

// CouponRef names the code a reminder is about. Auto marks the batch's
// automatic reminder; manual reminders come from the remind route.
type CouponRef struct {
	Batch string `json:"batch"`
	Code  string `json:"code"`
	Auto  bool   `json:"auto"`
}

// String is the record form "auto:<batch>:<code>" or "manual:<batch>:<code>";
// batch ids and codes hold no ':'.
func (r *CouponRef) String() string {
	if r == nil {
		return ""
	}
	kind := "manual"
	if r.Auto {
		kind = "auto"
	}
	return kind + ":" + r.Batch + ":" + r.Code
}

func parseCouponRef(s string) *CouponRef {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || (parts[0] != "auto" && parts[0] != "manual") {
		return nil
	}
	return &CouponRef{Auto: parts[0] == "auto", Batch: parts[1], Code: parts[2]}
}

func (r *CouponRef) validate() error {
	if r == nil {
		return nil
	}
	code, ok := normalizeCode(r.Code)
	if !couponBatchPattern.MatchString(r.Batch) || !ok || code != r.Code {
		return fmt.Errorf("%w: reminds: batch %s and code %s must be a batch id and an upper-case code", ErrInvalid, clip(r.Batch), clip(r.Code))
	}
	return nil
}

// claimant is the script's name for the reminder holding a code.
func (r *CouponRef) claimant(messageID string) string {
	if r.Auto {
		return "auto:" + messageID
	}
	return "manual"
}

// checkReminder validates a batch's reminder settings at creation.
func checkReminder(b CouponBatch, now time.Time) error {
	switch {
	case b.RemindBefore < 0 || b.RemindBefore > maxRemindBefore:
		return couponInvalid("remind_before %s must be from 0 (no reminder) to %s", b.RemindBefore, maxRemindBefore)
	case len(b.RemindTemplate) > 64 || strings.ContainsAny(b.RemindTemplate, " \t\r\n"):
		return couponInvalid("remind_template %s must be a template id (at most 64 characters, no spaces)", clip(b.RemindTemplate))
	case b.RemindBefore > 0 && b.RemindTemplate == "":
		return couponInvalid("remind_template is required when remind_before is set; give \"remind_before\": \"0\" for no reminder")
	case b.RemindBefore > 0 && !b.ExpiresAt.Add(-b.RemindBefore).After(now):
		return couponInvalid("remind_before %s reaches back before now (expires_at %s): shorten it or give \"0\"",
			b.RemindBefore, b.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}

// RemindAt is when a code issued at now gets its automatic reminder, and
// false when it gets none: reminders are off, or the code was issued
// inside the reminder period (the customer has just been given it).
func (b CouponBatch) RemindAt(now time.Time) (time.Time, bool) {
	if b.RemindBefore <= 0 || b.RemindTemplate == "" {
		return time.Time{}, false
	}
	at := b.ExpiresAt.Add(-b.RemindBefore)
	return at, at.After(now)
}

// CouponVars are the variables a coupon reminder's template sees.
func CouponVars(b CouponBatch, code string) map[string]any {
	return map[string]any{"coupon": code, "coupon_batch": b.ID, "coupon_expires_at": b.ExpiresAt.Format(time.RFC3339)}
}

// CouponReminderID is the message id of a code's automatic reminder: a
// hash, since batch and code together may exceed a message id's 64
// characters.
func CouponReminderID(batch, code string) string {
	sum := sha256.Sum256([]byte(batch + "\x00" + code))
	return "cpne-" + hex.EncodeToString(sum[:16])
}

// ScheduleCouponReminder queues the automatic expiry reminder of a code
// just issued to contactID: a marketing message at b.RemindAt. It returns
// nil when the batch sends none for this code, and the existing message
// (created false) when it was queued before. Call it after every issue,
// including repeats: that also repairs a reminder lost to a crash between
// issuing and queueing.
func (p *Pipeline) ScheduleCouponReminder(ctx context.Context, b CouponBatch, contactID, code string) (msg *Message, created bool, err error) {
	now := p.opt.Now()
	at, ok := b.RemindAt(now)
	if !ok {
		return nil, false, nil
	}
	ref := &CouponRef{Batch: b.ID, Code: code, Auto: true}
	if err := ref.validate(); err != nil {
		return nil, false, err
	}
	if contactID == "" {
		return nil, false, fmt.Errorf("%w: a coupon reminder needs the contact id", ErrInvalid)
	}
	m := &Message{ID: CouponReminderID(b.ID, code), Status: StatusScheduled, ContactID: contactID, Template: b.RemindTemplate,
		Purpose: channels.Marketing, Vars: CouponVars(b, code), SendAt: at, CreatedAt: now, UpdatedAt: now, Reminds: ref}
	stored, err := p.records.add(ctx, m)
	if err != nil {
		return nil, false, err
	}
	if !stored {
		if m, err = p.records.get(ctx, m.ID); err != nil {
			return nil, false, err
		}
	}
	return m, stored, p.enqueue(ctx, m)
}

// CheckTemplate reports whether a template exists (wrapping the
// renderer's not-found error when not), so a batch cannot name a reminder
// template that would fail every send.
func (p *Pipeline) CheckTemplate(ctx context.Context, id string) error {
	_, err := p.render.Order(ctx, id)
	return err
}

// SuppressedError says why a message must not go at all, on any channel:
// Reason is the named rule (coupon-redeemed, coupon-expired,
// coupon-reminded).
type SuppressedError struct {
	Reason, Detail string
}

func (e *SuppressedError) Error() string { return e.Reason + ": " + e.Detail }

// claimReminder takes the code's reminder slot for m right before its
// platform call, or returns a *SuppressedError saying why m must not go.
func (p *Pipeline) claimReminder(ctx context.Context, m *Message) error {
	r := m.Reminds
	n, err := p.remindClaim.Run(ctx, p.rdb,
		[]string{couponMetaKey(r.Batch), couponRedeemedKey(r.Batch), couponRemindedKey(r.Batch)},
		r.Code, r.claimant(m.ID), p.opt.Now().UnixMilli()).Int()
	if err != nil {
		return fmt.Errorf("outreach: claim the reminder of coupon %s: %w", r.Code, err)
	}
	switch n {
	case 1:
		return nil
	case -1, -2:
		return &SuppressedError{Reason: ReasonCouponExpired, Detail: fmt.Sprintf("coupon batch %s has expired; code %s can no longer be used", r.Batch, r.Code)}
	case -3:
		return &SuppressedError{Reason: ReasonCouponRedeemed, Detail: fmt.Sprintf("coupon %s was redeemed; nothing to remind of", r.Code)}
	case -4:
		other := "a manual reminder"
		if !r.Auto {
			other = "its automatic reminder"
		}
		return &SuppressedError{Reason: ReasonCouponReminded, Detail: fmt.Sprintf("coupon %s was already reminded of by %s", r.Code, other)}
	}
	return fmt.Errorf("outreach: coupon_remind_claim.lua answered %d", n)
}

// releaseReminder gives the slot back after a failed send; a slot left
// taken only stops a later reminder, so a failure is logged, not retried.
func (p *Pipeline) releaseReminder(ctx context.Context, m *Message) error {
	r := m.Reminds
	err := p.remindRelease.Run(ctx, p.rdb, []string{couponRemindedKey(r.Batch)}, r.Code, r.claimant(m.ID)).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("outreach: release the reminder of coupon %s: %w", r.Code, err)
	}
	return nil
}
