package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/outreach"
)

// What a redemption does to the contact: a purchase makes a customer. The
// score of 30 puts a redeeming lead well on the way to sql (80) without
// handing it over on a coupon alone. Fixed here until scoring rules cover
// coupon events.
const (
	redeemScore = 30
	redeemTag   = "customer"
	redeemStage = contacts.StageCustomer
)

// Timeline entry types of the coupon routes.
const (
	timelineCouponIssued   = "coupon_issued"
	timelineCouponRedeemed = "coupon_redeemed"
)

// couponFieldCode and couponFieldBatch are the contact fields Issue sets, so
// a template can show the code as {{.coupon}} (and {{.coupon_batch}}) with
// no extra vars. They hold the latest code issued to the contact; expiry
// reminders pass the reminded batch's code in the vars, which win.
const (
	couponFieldCode  = "coupon"
	couponFieldBatch = "coupon_batch"
)

// coupons is the coupon store over the server's Redis and clock; it does no
// I/O to build.
func (s *Server) coupons() *outreach.Coupons { return outreach.NewCoupons(s.rdb, s.now) }

// couponBatchRequest is POST /api/v1/coupons/batches.
type couponBatchRequest struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	ExpiresAt  *time.Time `json:"expires_at"`
	ValueCents int64      `json:"value_cents"`
	// RemindBefore ("72h"; "0" for none) and RemindTemplate set up the
	// automatic expiry reminder; without remind_before a batch that names
	// a template takes outreach.coupon_remind_before.
	RemindBefore   *string `json:"remind_before"`
	RemindTemplate string  `json:"remind_template"`
}

// couponBatchView is a batch as the API shows it.
type couponBatchView struct {
	outreach.CouponBatch
	Available    int    `json:"available"`
	RemindBefore string `json:"remind_before"`
}

func viewBatch(b outreach.CouponBatch) couponBatchView {
	return couponBatchView{CouponBatch: b, Available: b.Total - b.Issued, RemindBefore: b.RemindBefore.String()}
}

// remindBefore is a batch request's reminder lead time: as given, else the
// configured default when the batch names a reminder template, else none.
func (s *Server) remindBefore(req couponBatchRequest) (time.Duration, error) {
	if req.RemindBefore == nil {
		if req.RemindTemplate == "" {
			return 0, nil
		}
		return s.cfg.Outreach.CouponRemindBefore, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(*req.RemindBefore))
	if err != nil || d < 0 {
		return 0, invalidField("remind_before", "%q must be a duration such as 72h, or \"0\" for no reminder", *req.RemindBefore)
	}
	return d, nil
}

func (s *Server) createCouponBatch(c *gin.Context) {
	var req couponBatchRequest
	if !bindJSON(c, &req) {
		return
	}
	before, err := s.remindBefore(req)
	if err != nil {
		fail(c, err)
		return
	}
	b := outreach.CouponBatch{ID: req.ID, Name: req.Name, ValueCents: req.ValueCents, RemindBefore: before, RemindTemplate: req.RemindTemplate}
	if req.ExpiresAt != nil {
		b.ExpiresAt = *req.ExpiresAt
	}
	if before > 0 && req.RemindTemplate != "" {
		if s.outreach == nil {
			fail(c, newError(KindNotConfigured, "sending is not configured on this gateway, so the batch cannot have expiry reminders; give \"remind_before\": \"0\""))
			return
		}
		if err := s.outreach.CheckTemplate(c.Request.Context(), req.RemindTemplate); err != nil {
			fail(c, err)
			return
		}
	}
	b, err = s.coupons().CreateBatch(c.Request.Context(), b)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, viewBatch(b))
}

func (s *Server) getCouponBatch(c *gin.Context) {
	b, err := s.coupons().Batch(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewBatch(b))
}

// couponCodesRequest is POST /api/v1/coupons/batches/:id/codes: a list to
// import, or a number of codes to generate. A body holds about 30,000 codes
// under the default http.body_limit; send bigger lists in parts.
type couponCodesRequest struct {
	Codes    []string `json:"codes"`
	Generate int      `json:"generate"`
	Prefix   string   `json:"prefix"`
}

func (s *Server) addCouponCodes(c *gin.Context) {
	var req couponCodesRequest
	if !bindJSON(c, &req) {
		return
	}
	batch := c.Param("id")
	var (
		added int
		err   error
	)
	switch {
	case req.Codes != nil && (req.Generate != 0 || req.Prefix != ""):
		err = invalidField("codes", `give either "codes" or "generate" (with an optional "prefix"), not both`)
	case req.Codes != nil:
		added, err = s.coupons().AddCodes(c.Request.Context(), batch, req.Codes)
	case req.Generate != 0:
		added, err = s.coupons().Generate(c.Request.Context(), batch, req.Generate, req.Prefix)
	default:
		err = invalidField("codes", `give "codes": [...] to import or "generate": N to make N random codes`)
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"added": added})
}

// couponIssueRequest is POST /api/v1/coupons/batches/:id/issue.
type couponIssueRequest struct {
	Contact map[string]string `json:"contact"`
}

// issueCoupon gives the contact named by its identities one code of the
// batch (the same one on every call), creating the contact if it is new,
// records coupon_issued on its timeline once, and sets the coupon fields
// templates read.
func (s *Server) issueCoupon(c *gin.Context) {
	var req couponIssueRequest
	if !bindJSON(c, &req) {
		return
	}
	ids, err := identitiesFrom(req.Contact)
	if err != nil {
		fail(c, err)
		return
	}
	ctx, cs, batch := c.Request.Context(), s.coupons(), c.Param("id")
	b, err := cs.Batch(ctx, batch)
	if err != nil {
		fail(c, err)
		return
	}
	if !s.now().Before(b.ExpiresAt) {
		fail(c, fmt.Errorf("%w: batch %s expired at %s; issue from a current batch", outreach.ErrCouponExpired, batch, b.ExpiresAt.Format(time.RFC3339)))
		return
	}
	cids := make([]contacts.Identity, len(ids))
	for i, id := range ids {
		cids[i] = identityOf(id)
	}
	if b.Issued >= b.Total { // only a contact that holds a code can still get one
		if _, err := s.contacts.Lookup(ctx, cids[0]); errors.Is(err, contacts.ErrNotFound) {
			fail(c, fmt.Errorf("%w: batch %s; add or generate more codes", outreach.ErrCouponsExhausted, batch))
			return
		}
	}
	res, err := s.contacts.Apply(ctx, contacts.Change{Identities: cids})
	if err != nil {
		fail(c, err)
		return
	}
	code, fresh, err := cs.Issue(ctx, batch, res.ContactID)
	if err != nil {
		fail(c, err)
		return
	}
	// Keyed per contact and batch, so a retry after a crash here records the
	// issue once, and asking again does not repeat it.
	_, err = s.contacts.Apply(ctx, contacts.Change{
		EventID: "coupon_issued:" + batch, Identities: cids,
		Fields:   map[string]string{couponFieldCode: code, couponFieldBatch: batch},
		Timeline: &contacts.Entry{Type: timelineCouponIssued, Source: "coupons", Props: map[string]string{"batch": batch, "code": code}},
	})
	if err != nil {
		fail(c, err)
		return
	}
	out := gin.H{"batch": batch, "code": code, "fresh": fresh, "contact_id": res.ContactID}
	reminder, err := s.scheduleExpiryReminder(ctx, b, res.ContactID, code)
	if err != nil {
		fail(c, err)
		return
	}
	if reminder != nil {
		out["reminder"] = gin.H{"id": reminder.ID, "send_at": reminder.SendAt}
	}
	c.JSON(http.StatusOK, out)
}

// scheduleExpiryReminder queues the code's automatic reminder when the
// batch has one (nil otherwise). Issuing the same code again finds the
// reminder queued before, so this is safe on every issue.
func (s *Server) scheduleExpiryReminder(ctx context.Context, b outreach.CouponBatch, contactID, code string) (*outreach.Message, error) {
	if s.outreach == nil {
		return nil, nil
	}
	m, _, err := s.outreach.ScheduleCouponReminder(ctx, b, contactID, code)
	return m, err
}

// couponRedeemRequest is POST /api/v1/coupons/redeem as JSON; shop systems
// may send the same fields form-encoded (code=...&order_id=...).
type couponRedeemRequest struct {
	Code    string `json:"code"`
	OrderID string `json:"order_id"`
	// Amount is the order's value, optional, for the campaign report's revenue.
	Amount *json.Number `json:"amount"`
}

// redeemCoupon marks a code used and makes its holder a customer: tag
// customer, stage customer, score +30, and a coupon_redeemed timeline entry.
// Repeating it with the same order_id is safe and changes nothing more. Shop
// systems authenticate with a bearer token like any API client (a marketer
// token is enough), so no separate webhook secret exists.
func (s *Server) redeemCoupon(c *gin.Context) {
	req, ok := bindRedeem(c)
	if !ok {
		return
	}
	if strings.TrimSpace(req.Code) == "" {
		fail(c, invalidField("code", "is required"))
		return
	}
	ctx := c.Request.Context()
	amount, err := redeemAmount(req.Amount)
	if err != nil {
		fail(c, err)
		return
	}
	r, err := s.coupons().Redeem(ctx, req.Code, req.OrderID)
	if err != nil {
		fail(c, err)
		return
	}
	ct, err := s.contacts.Get(ctx, r.ContactID)
	if errors.Is(err, contacts.ErrNotFound) {
		// The code is used either way; there is no one left to credit.
		s.log.Warn("redeemed coupon's contact is gone", zap.String("request_id", requestID(c)), zap.String("code", r.Code), zap.String("contact_id", r.ContactID))
		c.JSON(http.StatusOK, r)
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	id, ok := anyIdentity(ct)
	if !ok {
		fail(c, fmt.Errorf("gateway: contact %s has no identity to apply the redemption to", ct.ID))
		return
	}
	_, err = s.contacts.Apply(ctx, contacts.Change{
		EventID: "coupon:" + r.Code, Identities: []contacts.Identity{id}, At: r.RedeemedAt, Touch: true,
		AddTags: []string{redeemTag}, Stage: redeemStage, ScoreDelta: redeemScore,
		Timeline: &contacts.Entry{Type: timelineCouponRedeemed, Source: "coupons",
			Props: map[string]string{"batch": r.Batch, "code": r.Code, "order": r.OrderID}},
	})
	if err != nil {
		fail(c, err)
		return
	}
	if !r.Duplicate {
		// The code remembers the id it was issued to; the contact may have
		// been merged into another since, whose id the reports keep.
		credited := r
		credited.ContactID = ct.ID
		s.reportRedemption(ctx, credited, amount)
	}
	c.JSON(http.StatusOK, r)
}

// bindRedeem reads the redeem fields from JSON or, for shop systems, from a
// form-encoded body. Unknown form fields are ignored: shops add their own.
func bindRedeem(c *gin.Context) (couponRedeemRequest, bool) {
	var req couponRedeemRequest
	if !strings.HasPrefix(c.ContentType(), "application/x-www-form-urlencoded") {
		return req, bindJSON(c, &req)
	}
	if err := c.Request.ParseForm(); err != nil {
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) {
			fail(c, err)
		} else {
			fail(c, invalidField("body", "the form does not parse: %v", err))
		}
		return req, false
	}
	form := c.Request.PostForm
	for _, f := range []string{"code", "order_id", "amount"} {
		if len(form[f]) > 1 {
			fail(c, invalidField(f, "is given %d times; give it once", len(form[f])))
			return req, false
		}
	}
	req = couponRedeemRequest{Code: form.Get("code"), OrderID: form.Get("order_id")}
	if a := form.Get("amount"); a != "" {
		n := json.Number(a)
		req.Amount = &n
	}
	return req, true
}

// couponRemindRequest is POST /api/v1/coupons/batches/:id/remind.
type couponRemindRequest struct {
	Template string     `json:"template"`
	Purpose  string     `json:"purpose"`
	Channel  string     `json:"channel"`
	SendAt   *time.Time `json:"send_at"`
}

// remindCoupons queues one message per issued, unredeemed code of a batch,
// with the code in the vars (coupon, coupon_batch, coupon_expires_at). Each
// message's id is derived from the batch, contact, template and send_at, so
// running the same reminder again queues nothing new; a different send_at
// is a second reminder. Contacts the message cannot reach are counted as
// skipped. At send time a reminder for a code redeemed meanwhile is
// suppressed, and a code gets either its automatic reminder or manual
// ones, whichever goes first, never both.
func (s *Server) remindCoupons(c *gin.Context) {
	if s.outreach == nil {
		fail(c, newError(KindNotConfigured, "sending is not configured on this gateway"))
		return
	}
	var req couponRemindRequest
	if !bindJSON(c, &req) {
		return
	}
	ctx, cs, batch := c.Request.Context(), s.coupons(), c.Param("id")
	b, err := cs.Batch(ctx, batch)
	if err != nil {
		fail(c, err)
		return
	}
	now := s.now()
	var sendAt time.Time
	if req.SendAt != nil {
		sendAt = *req.SendAt
	}
	switch {
	case !now.Before(b.ExpiresAt):
		fail(c, fmt.Errorf("%w: batch %s expired at %s; there is nothing left to remind of", outreach.ErrCouponExpired, batch, b.ExpiresAt.Format(time.RFC3339)))
		return
	case !sendAt.IsZero() && !sendAt.Before(b.ExpiresAt):
		fail(c, invalidField("send_at", "%s is not before the batch expires (%s)", sendAt.Format(time.RFC3339), b.ExpiresAt.Format(time.RFC3339)))
		return
	case req.Template == "":
		fail(c, invalidField("template", "is required"))
		return
	}
	switch channels.Purpose(req.Purpose) {
	case channels.Transactional, channels.Service, channels.Marketing:
	default:
		fail(c, invalidField("purpose", "%q must be transactional, service or marketing", req.Purpose))
		return
	}
	open, err := cs.Unredeemed(ctx, batch)
	if err != nil {
		fail(c, err)
		return
	}
	var queued, duplicates, skipped int
	for _, ic := range open {
		ct, err := s.contacts.Get(ctx, ic.ContactID)
		if errors.Is(err, contacts.ErrNotFound) {
			skipped++
			continue
		}
		if err != nil {
			fail(c, err)
			return
		}
		id, ok := anyIdentity(ct)
		if !ok {
			skipped++
			continue
		}
		in := outreach.Intent{
			ID: reminderID(batch, ic.ContactID, req.Template, sendAt), Contact: []contacts.Identity{id},
			Template: req.Template, Purpose: channels.Purpose(req.Purpose), Channel: channels.Channel(req.Channel), SendAt: sendAt,
			Vars:    outreach.CouponVars(b, ic.Code),
			Reminds: &outreach.CouponRef{Batch: batch, Code: ic.Code},
		}
		_, created, err := s.outreach.Submit(ctx, in)
		switch {
		case errors.Is(err, outreach.ErrUnreachable):
			skipped++
		case err != nil:
			fail(c, err)
			return
		case created:
			queued++
		default:
			duplicates++
		}
	}
	c.JSON(http.StatusAccepted, gin.H{"queued": queued, "duplicates": duplicates, "skipped": skipped})
}

// reminderID is the message id of one reminder: a hash, because the parts
// together exceed the 64 characters a message id may have.
func reminderID(batch, contact, template string, sendAt time.Time) string {
	var at int64
	if !sendAt.IsZero() {
		at = sendAt.Unix()
	}
	sum := sha256.Sum256([]byte(batch + "\x00" + contact + "\x00" + template + "\x00" + strconv.FormatInt(at, 10)))
	return "cpnr-" + hex.EncodeToString(sum[:16])
}
