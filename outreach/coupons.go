package outreach

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed scripts/coupon_create.lua
	couponCreateLua string
	//go:embed scripts/coupon_add.lua
	couponAddLua string
	//go:embed scripts/coupon_issue.lua
	couponIssueLua string
	//go:embed scripts/coupon_redeem.lua
	couponRedeemLua string
)

// Coupon sentinel errors, wrapped with details. The HTTP layer maps them
// with errors.Is to stable codes, so their meaning must not change.
var (
	// ErrCouponInvalid means the input was refused before anything was
	// written; the wrapped message names the field and its rule.
	ErrCouponInvalid = errors.New("invalid coupon input")
	// ErrCouponBatchNotFound means no batch has that id (or it was removed
	// when its retention after expiry ended).
	ErrCouponBatchNotFound = errors.New("coupon batch not found")
	// ErrCouponBatchExists means a batch with that id exists already; batch
	// ids are never reused, so old codes cannot change meaning.
	ErrCouponBatchExists = errors.New("coupon batch already exists")
	// ErrCouponUnknown means the code belongs to no batch, or was never
	// issued to a contact and so cannot be in a customer's hands.
	ErrCouponUnknown = errors.New("unknown coupon code")
	// ErrCouponUsed means the code was redeemed before with another order.
	ErrCouponUsed = errors.New("coupon code already redeemed")
	// ErrCouponsExhausted means every code of the batch has been issued;
	// add or generate more codes.
	ErrCouponsExhausted = errors.New("no coupon codes left in the batch")
	// ErrCouponExpired means the batch's expiry has passed: its codes can
	// no longer be issued, added or redeemed.
	ErrCouponExpired = errors.New("coupon batch has expired")
)

// Limits on coupon input. They keep one script call short (Redis runs
// scripts one at a time) and refuse garbage early.
const (
	// MaxCouponCodes bounds the codes one AddCodes or Generate call takes;
	// import larger lists in several calls.
	MaxCouponCodes   = 100_000
	minCouponCodeLen = 4
	maxCouponCodeLen = 32
	maxCouponPrefix  = 16
	// couponRandomLen random characters from couponAlphabet give 31^10
	// (about 8·10^14) codes, far too many to guess one.
	couponRandomLen = 10
	// couponChunk codes go to Redis per round trip and per script call.
	couponChunk        = 1000
	maxCouponNameLen   = 200
	maxCouponOrderLen  = 128
	maxCouponValue     = 100_000_000_000 // one billion yuan in cents
	maxCouponLifetime  = 10 * 366 * 24 * time.Hour
	couponGenerateTry  = 8
	couponScanPageSize = 1000
)

// couponRetention is how long a batch's keys outlive its expiry: long enough
// to answer "expired" rather than "unknown" to late redemptions and to keep
// the results for reports, short enough that Redis does not fill up.
const couponRetention = 90 * 24 * time.Hour

// couponAlphabet leaves out 0, O, 1, I and L, which customers misread when
// they type a code from a screenshot.
const couponAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

var (
	couponBatchPattern   = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
	couponContactPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
)

// CouponBatch is one promotion's pool of codes with its expiry and counts.
type CouponBatch struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// ValueCents is the coupon's face value for reports; 0 when unknown.
	ValueCents int64     `json:"value_cents,omitempty"`
	ExpiresAt  time.Time `json:"expires_at"`
	Created    time.Time `json:"created_at"`
	Total      int       `json:"total"`
	Issued     int       `json:"issued"`
	Redeemed   int       `json:"redeemed"`
	// RemindBefore is how long before ExpiresAt every issued, unredeemed
	// code gets its automatic reminder, so customers use what they were
	// given; 0 sends none. It needs RemindTemplate.
	RemindBefore time.Duration `json:"-"`
	// RemindTemplate is the template of the automatic reminder; it sees
	// coupon, coupon_batch and coupon_expires_at as variables.
	RemindTemplate string `json:"remind_template,omitempty"`
}

// Redemption is the record of a code's use in an order.
type Redemption struct {
	Batch      string    `json:"batch"`
	Code       string    `json:"code"`
	ContactID  string    `json:"contact_id"`
	OrderID    string    `json:"order_id,omitempty"`
	RedeemedAt time.Time `json:"redeemed_at"`
	// Duplicate says this call repeated an earlier redemption with the same
	// order id and changed nothing, so callers can tell a retry apart.
	Duplicate bool `json:"duplicate"`
}

// IssuedCoupon is a code in a contact's hands.
type IssuedCoupon struct {
	ContactID string `json:"contact_id"`
	Code      string `json:"code"`
}

// Coupons keeps coupon batches in Redis. Each batch lives in its own slot
// and every change to it is one script, so concurrent gateways and workers
// never issue a code twice or give a contact two codes of one batch.
type Coupons struct {
	rdb                        redis.UniversalClient
	now                        func() time.Time
	create, add, issue, redeem *redis.Script
}

// NewCoupons needs the Redis client; now is the clock that decides expiry
// (nil means time.Now), so tests move time instead of waiting.
func NewCoupons(rdb redis.UniversalClient, now func() time.Time) *Coupons {
	if now == nil {
		now = time.Now
	}
	return &Coupons{rdb: rdb, now: now,
		create: redis.NewScript(couponCreateLua), add: redis.NewScript(couponAddLua),
		issue: redis.NewScript(couponIssueLua), redeem: redis.NewScript(couponRedeemLua)}
}

func couponInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCouponInvalid}, args...)...)
}

func checkBatchID(id string) error {
	if !couponBatchPattern.MatchString(id) {
		return couponInvalid("batch id %s must be 1-64 lowercase letters, digits, _ or -", clip(id))
	}
	return nil
}

// CreateBatch stores a new, empty batch; add codes with AddCodes or
// Generate. ID, Name and a future ExpiresAt are required; the counts and
// Created are set here.
func (c *Coupons) CreateBatch(ctx context.Context, b CouponBatch) (CouponBatch, error) {
	now := c.now()
	b.Name = strings.TrimSpace(b.Name)
	if err := checkBatchID(b.ID); err != nil {
		return CouponBatch{}, err
	}
	switch {
	case b.Name == "" || utf8.RuneCountInString(b.Name) > maxCouponNameLen || !printable(b.Name):
		return CouponBatch{}, couponInvalid("name must be 1-%d printable characters", maxCouponNameLen)
	case b.ValueCents < 0 || b.ValueCents > maxCouponValue:
		return CouponBatch{}, couponInvalid("value_cents %d must be from 0 to %d", b.ValueCents, int64(maxCouponValue))
	case b.ExpiresAt.IsZero():
		return CouponBatch{}, couponInvalid("expires_at is required (RFC 3339, e.g. 2026-12-31T23:59:59+08:00)")
	case !b.ExpiresAt.After(now):
		return CouponBatch{}, couponInvalid("expires_at %s is not in the future", b.ExpiresAt.Format(time.RFC3339))
	case b.ExpiresAt.After(now.Add(maxCouponLifetime)):
		return CouponBatch{}, couponInvalid("expires_at %s is more than ten years ahead", b.ExpiresAt.Format(time.RFC3339))
	}
	if err := checkReminder(b, now); err != nil {
		return CouponBatch{}, err
	}
	b.ExpiresAt = time.UnixMilli(b.ExpiresAt.UnixMilli()).UTC()
	b.Created = time.UnixMilli(now.UnixMilli()).UTC()
	b.Total, b.Issued, b.Redeemed = 0, 0, 0
	keep := b.ExpiresAt.Add(couponRetention).UnixMilli()
	n, err := c.create.Run(ctx, c.rdb, []string{couponMetaKey(b.ID)}, keep,
		"id", b.ID, "name", b.Name, "value_cents", b.ValueCents, "expires_at", b.ExpiresAt.UnixMilli(),
		"created_at", b.Created.UnixMilli(), "keep_until", keep, "total", 0, "issued", 0, "redeemed", 0,
		"remind_before", b.RemindBefore.Milliseconds(), "remind_template", b.RemindTemplate).Int()
	if err != nil {
		return CouponBatch{}, fmt.Errorf("outreach: create coupon batch %s: %w", b.ID, err)
	}
	if n == 0 {
		return CouponBatch{}, fmt.Errorf("%w: %s; pick another id", ErrCouponBatchExists, b.ID)
	}
	return b, nil
}

// Batch returns a batch with its current counts.
func (c *Coupons) Batch(ctx context.Context, id string) (CouponBatch, error) {
	if err := checkBatchID(id); err != nil {
		return CouponBatch{}, err
	}
	h, err := c.rdb.HGetAll(ctx, couponMetaKey(id)).Result()
	if err != nil {
		return CouponBatch{}, fmt.Errorf("outreach: read coupon batch %s: %w", id, err)
	}
	if len(h) == 0 {
		return CouponBatch{}, fmt.Errorf("%w: %s; create it with POST /api/v1/coupons/batches", ErrCouponBatchNotFound, id)
	}
	b := CouponBatch{ID: h["id"], Name: h["name"], ExpiresAt: msTime(h["expires_at"]), Created: msTime(h["created_at"])}
	b.ValueCents, _ = strconv.ParseInt(h["value_cents"], 10, 64)
	b.Total, _ = strconv.Atoi(h["total"])
	b.Issued, _ = strconv.Atoi(h["issued"])
	b.Redeemed, _ = strconv.Atoi(h["redeemed"])
	remindMS, _ := strconv.ParseInt(h["remind_before"], 10, 64)
	b.RemindBefore, b.RemindTemplate = time.Duration(remindMS)*time.Millisecond, h["remind_template"]
	return b, nil
}

// AddCodes imports a list of codes into a batch. Codes are 4-32 letters,
// digits or '-', compared without regard to case (stored upper case) and
// trimmed of surrounding spaces. A code already in this or any other batch
// is skipped, so importing a list twice adds nothing the second time. One
// bad code refuses the whole list before anything is written.
func (c *Coupons) AddCodes(ctx context.Context, batch string, codes []string) (added int, err error) {
	if err := checkBatchID(batch); err != nil {
		return 0, err
	}
	norm, err := normalizeCodes(codes)
	if err != nil {
		return 0, err
	}
	return c.addNormalized(ctx, batch, norm)
}

// normalizeCodes validates an imported list and returns its codes upper
// cased, trimmed and without repeats, in their first order.
func normalizeCodes(codes []string) ([]string, error) {
	switch {
	case len(codes) == 0:
		return nil, couponInvalid("codes is empty; give at least one code")
	case len(codes) > MaxCouponCodes:
		return nil, couponInvalid("%d codes in one call; import at most %d per call", len(codes), MaxCouponCodes)
	}
	out := make([]string, 0, len(codes))
	seen := make(map[string]bool, len(codes))
	for i, raw := range codes {
		code, ok := normalizeCode(raw)
		if !ok {
			return nil, couponInvalid("codes[%d] %s must be %d-%d letters, digits or '-'", i, clip(raw), minCouponCodeLen, maxCouponCodeLen)
		}
		if !seen[code] {
			seen[code] = true
			out = append(out, code)
		}
	}
	return out, nil
}

func normalizeCode(raw string) (string, bool) {
	code := strings.TrimSpace(raw)
	if len(code) < minCouponCodeLen || len(code) > maxCouponCodeLen {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if !codeByte(code[i]) {
			return "", false
		}
	}
	return strings.ToUpper(code), true
}

func codeByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-'
}

// Generate adds n random codes to a batch, each prefix (upper cased, at most
// 16 letters, digits or '-') followed by ten characters of an alphabet
// without look-alikes. It returns the number added, which is n.
func (c *Coupons) Generate(ctx context.Context, batch string, n int, prefix string) (int, error) {
	if err := checkBatchID(batch); err != nil {
		return 0, err
	}
	if n < 1 || n > MaxCouponCodes {
		return 0, couponInvalid("generate %d must be from 1 to %d", n, MaxCouponCodes)
	}
	prefix = strings.ToUpper(strings.TrimSpace(prefix))
	if len(prefix) > maxCouponPrefix || strings.IndexFunc(prefix, func(r rune) bool { return r > 0x7f || !codeByte(byte(r)) }) >= 0 {
		return 0, couponInvalid("prefix %s must be at most %d letters, digits or '-'", clip(prefix), maxCouponPrefix)
	}
	added := 0
	for try := 0; added < n && try < couponGenerateTry; try++ {
		k, err := c.addNormalized(ctx, batch, randomCodes(prefix, n-added))
		added += k
		if err != nil {
			return added, err
		}
	}
	if added < n {
		return added, fmt.Errorf("outreach: generated only %d of %d codes for batch %s after %d rounds of collisions; use a longer prefix or fewer codes", added, n, batch, couponGenerateTry)
	}
	return added, nil
}

// randomCodes returns n distinct codes: prefix plus couponRandomLen
// characters drawn uniformly from couponAlphabet.
func randomCodes(prefix string, n int) []string {
	const limit = 256 - 256%len(couponAlphabet) // reject bytes that would bias the draw
	out := make([]string, 0, n)
	seen := make(map[string]bool, n)
	buf := make([]byte, 64)
	pos := len(buf)
	for len(out) < n {
		code := []byte(prefix)
		for len(code) < len(prefix)+couponRandomLen {
			if pos == len(buf) {
				_, _ = rand.Read(buf)
				pos = 0
			}
			b := buf[pos]
			pos++
			if int(b) < limit {
				code = append(code, couponAlphabet[int(b)%len(couponAlphabet)])
			}
		}
		if s := string(code); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// addNormalized claims each code in the global index for batch, then adds
// the claimed ones to the batch's pool. A code whose claim names this batch
// already is added too: that is an import interrupted between the two steps
// being run again, and the pool script skips codes it knows.
func (c *Coupons) addNormalized(ctx context.Context, batch string, codes []string) (int, error) {
	meta, err := c.rdb.HMGet(ctx, couponMetaKey(batch), "expires_at", "keep_until").Result()
	if err != nil {
		return 0, fmt.Errorf("outreach: read coupon batch %s: %w", batch, err)
	}
	if meta[0] == nil {
		return 0, fmt.Errorf("%w: %s; create it with POST /api/v1/coupons/batches", ErrCouponBatchNotFound, batch)
	}
	expires, keep := msTime(fmt.Sprint(meta[0])), msTime(fmt.Sprint(meta[1]))
	if !c.now().Before(expires) {
		return 0, fmt.Errorf("%w: batch %s expired at %s; create a new batch", ErrCouponExpired, batch, expires.Format(time.RFC3339))
	}
	added := 0
	for chunk := range slices.Chunk(codes, couponChunk) {
		owned, err := c.claim(ctx, batch, chunk, keep)
		if err != nil {
			return added, err
		}
		if len(owned) == 0 {
			continue
		}
		args := make([]any, 0, len(owned)+1)
		args = append(args, c.now().UnixMilli())
		for _, code := range owned {
			args = append(args, code)
		}
		n, err := c.add.Run(ctx, c.rdb, []string{couponMetaKey(batch), couponAvailKey(batch), couponCodesKey(batch)}, args...).Int()
		switch {
		case err != nil:
			return added, fmt.Errorf("outreach: add codes to coupon batch %s: %w", batch, err)
		case n == -1:
			return added, fmt.Errorf("%w: %s", ErrCouponBatchNotFound, batch)
		case n == -2:
			return added, fmt.Errorf("%w: batch %s expired while codes were being added", ErrCouponExpired, batch)
		}
		added += n
	}
	return added, nil
}

// claim writes cpn:code:<code> = batch for codes nobody holds and returns
// the codes that now belong to batch.
func (c *Coupons) claim(ctx context.Context, batch string, codes []string, keep time.Time) ([]string, error) {
	sets := make([]*redis.StatusCmd, len(codes))
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, code := range codes {
			sets[i] = p.SetArgs(ctx, couponCodeKey(code), batch, redis.SetArgs{Mode: "NX", ExpireAt: keep})
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("outreach: claim coupon codes for batch %s: %w", batch, err)
	}
	owned := make([]string, 0, len(codes))
	var taken []string
	for i, cmd := range sets {
		switch err := cmd.Err(); {
		case err == nil:
			owned = append(owned, codes[i])
		case errors.Is(err, redis.Nil):
			taken = append(taken, codes[i])
		default:
			return nil, fmt.Errorf("outreach: claim coupon code for batch %s: %w", batch, err)
		}
	}
	if len(taken) == 0 {
		return owned, nil
	}
	gets := make([]*redis.StringCmd, len(taken))
	_, err = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, code := range taken {
			gets[i] = p.Get(ctx, couponCodeKey(code))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("outreach: read coupon code owners: %w", err)
	}
	for i, cmd := range gets {
		if cmd.Val() == batch {
			owned = append(owned, taken[i])
		}
	}
	return owned, nil
}

// Issue gives the contact its code from the batch: the one it holds already
// (fresh is false) or a newly drawn one. Racing calls for one contact all
// get the same code, and no code ever goes to two contacts.
func (c *Coupons) Issue(ctx context.Context, batch, contactID string) (code string, fresh bool, err error) {
	if err := checkBatchID(batch); err != nil {
		return "", false, err
	}
	if !couponContactPattern.MatchString(contactID) {
		return "", false, couponInvalid("contact id %s must be 1-64 letters, digits or _.:-", clip(contactID))
	}
	v, err := c.issue.Run(ctx, c.rdb,
		[]string{couponMetaKey(batch), couponAvailKey(batch), couponCodesKey(batch), couponHolderKey(batch)},
		contactID, c.now().UnixMilli()).Slice()
	if err != nil {
		return "", false, fmt.Errorf("outreach: issue a coupon of batch %s: %w", batch, err)
	}
	status, code, err := issueReply(v)
	if err != nil {
		return "", false, err
	}
	switch status {
	case 1, 0:
		return code, status == 1, nil
	case -1:
		return "", false, fmt.Errorf("%w: %s; create it with POST /api/v1/coupons/batches", ErrCouponBatchNotFound, batch)
	case -2:
		return "", false, fmt.Errorf("%w: batch %s; issue from a current batch", ErrCouponExpired, batch)
	default:
		return "", false, fmt.Errorf("%w: batch %s; add or generate more codes", ErrCouponsExhausted, batch)
	}
}

func issueReply(v []any) (int64, string, error) {
	if len(v) != 2 {
		return 0, "", errors.New("outreach: coupon_issue.lua answered an unexpected shape")
	}
	status, ok1 := v[0].(int64)
	code, ok2 := v[1].(string)
	if !ok1 || !ok2 {
		return 0, "", errors.New("outreach: coupon_issue.lua answered an unexpected shape")
	}
	return status, code, nil
}

// Redeem marks an issued code used in an order. The same order id again
// returns the first redemption with Duplicate set, so a shop system can
// retry; an empty order id cannot be told apart from another order.
func (c *Coupons) Redeem(ctx context.Context, code, orderID string) (Redemption, error) {
	norm, ok := normalizeCode(code)
	if !ok {
		return Redemption{}, couponInvalid("code %s must be %d-%d letters, digits or '-'", clip(code), minCouponCodeLen, maxCouponCodeLen)
	}
	orderID = strings.TrimSpace(orderID)
	if len(orderID) > maxCouponOrderLen || !printable(orderID) {
		return Redemption{}, couponInvalid("order_id must be at most %d printable characters", maxCouponOrderLen)
	}
	batch, err := c.rdb.Get(ctx, couponCodeKey(norm)).Result()
	if errors.Is(err, redis.Nil) {
		return Redemption{}, fmt.Errorf("%w: %s is in no batch; check the code the customer gave", ErrCouponUnknown, norm)
	}
	if err != nil {
		return Redemption{}, fmt.Errorf("outreach: look up coupon code: %w", err)
	}
	v, err := c.redeem.Run(ctx, c.rdb,
		[]string{couponMetaKey(batch), couponCodesKey(batch), couponRedeemedKey(batch)},
		norm, orderID, c.now().UnixMilli()).Slice()
	if err != nil {
		return Redemption{}, fmt.Errorf("outreach: redeem coupon %s: %w", norm, err)
	}
	if len(v) != 4 {
		return Redemption{}, errors.New("outreach: coupon_redeem.lua answered an unexpected shape")
	}
	status, _ := v[0].(int64)
	contact, _ := v[1].(string)
	at, _ := v[2].(int64)
	order, _ := v[3].(string)
	r := Redemption{Batch: batch, Code: norm, ContactID: contact, OrderID: order, RedeemedAt: time.UnixMilli(at).UTC()}
	switch status {
	case 1:
		return r, nil
	case 0:
		r.Duplicate = true
		return r, nil
	case -1:
		return Redemption{}, fmt.Errorf("%w: %s is in no batch; check the code the customer gave", ErrCouponUnknown, norm)
	case -2:
		return Redemption{}, fmt.Errorf("%w: code %s of batch %s can no longer be redeemed", ErrCouponExpired, norm, batch)
	case -3:
		return Redemption{}, fmt.Errorf("%w: code %s was redeemed at %s in order %q", ErrCouponUsed, norm, r.RedeemedAt.Format(time.RFC3339), order)
	default:
		return Redemption{}, fmt.Errorf("%w: code %s has not been issued to a contact yet", ErrCouponUnknown, norm)
	}
}

// Unredeemed lists the codes issued from a batch and not yet used, sorted by
// contact id, for expiry reminders. Large batches are read in pages, so a
// code redeemed during the call may still be listed.
func (c *Coupons) Unredeemed(ctx context.Context, batch string) ([]IssuedCoupon, error) {
	if _, err := c.Batch(ctx, batch); err != nil {
		return nil, err
	}
	var out []IssuedCoupon
	var cursor uint64
	for {
		kv, next, err := c.rdb.HScan(ctx, couponHolderKey(batch), cursor, "", couponScanPageSize).Result()
		if err != nil {
			return nil, fmt.Errorf("outreach: list coupons of batch %s: %w", batch, err)
		}
		page := make([]IssuedCoupon, 0, len(kv)/2)
		codes := make([]string, 0, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			page = append(page, IssuedCoupon{ContactID: kv[i], Code: kv[i+1]})
			codes = append(codes, kv[i+1])
		}
		if len(codes) > 0 {
			used, err := c.rdb.HMGet(ctx, couponRedeemedKey(batch), codes...).Result()
			if err != nil {
				return nil, fmt.Errorf("outreach: list coupons of batch %s: %w", batch, err)
			}
			for i, u := range used {
				if u == nil {
					out = append(out, page[i])
				}
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	// HSCAN may return an entry twice when the hash grows during the scan.
	slices.SortFunc(out, func(a, b IssuedCoupon) int { return strings.Compare(a.ContactID, b.ContactID) })
	return slices.CompactFunc(out, func(a, b IssuedCoupon) bool { return a.ContactID == b.ContactID }), nil
}

// printable refuses invalid UTF-8 and control characters (which break logs
// and exports) but keeps full-width spaces, common in Chinese names.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// clip quotes an input for an error message, cut short so a pasted file
// does not end up in the logs.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
