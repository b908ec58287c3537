package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/channels/email"
	"github.com/journeygate/gateway/channels/officialaccount"
	"github.com/journeygate/gateway/channels/sms"
	"github.com/journeygate/gateway/channels/wecom"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/contacts/transfer"
	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/outreach"
	"github.com/journeygate/gateway/reports"
	"github.com/journeygate/gateway/templates"
)

// Kind is one entry of the error catalogue: a stable number clients switch on,
// the HTTP status, and a hint that says how to fix the request. The numbers
// never change meaning; new kinds get new numbers.
type Kind struct {
	Code   int
	Status int
	Name   string
	Hint   string
}

// The catalogue. README.md lists it; TestCatalogueIsDocumented keeps the two in step.
var (
	KindInvalidJSON   = Kind{1001, http.StatusBadRequest, "invalid_json", "send a JSON body that matches the route's documented shape"}
	KindBodyTooLarge  = Kind{1002, http.StatusRequestEntityTooLarge, "body_too_large", "send a smaller body (http.body_limit)"}
	KindInvalidField  = Kind{1003, http.StatusBadRequest, "invalid_field", "fix the named field"}
	KindUnauthorized  = Kind{1101, http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer <token>"}
	KindForbidden     = Kind{1102, http.StatusForbidden, "forbidden", "use a token whose role has this right"}
	KindRouteNotFound = Kind{1201, http.StatusNotFound, "route_not_found", "check the path against the README's route list"}
	KindMethod        = Kind{1202, http.StatusMethodNotAllowed, "method_not_allowed", "use a method the route accepts"}

	KindSignature      = Kind{2001, http.StatusUnauthorized, "bad_signature", "the signature does not match: check the callback token configured on the platform and here"}
	KindStale          = Kind{2002, http.StatusUnauthorized, "stale_timestamp", "the timestamp is missing or too far from now: check the sender's clock (callbacks.max_skew)"}
	KindDecrypt        = Kind{2003, http.StatusBadRequest, "decrypt_failed", "the payload does not decrypt: check the EncodingAESKey and the corp or app id"}
	KindMalformed      = Kind{2004, http.StatusBadRequest, "malformed_payload", "the payload does not parse: send the platform's documented format"}
	KindUnsupported    = Kind{2005, http.StatusUnprocessableEntity, "unsupported_event", "this message or event type is not handled"}
	KindChannelOff     = Kind{2006, http.StatusNotFound, "channel_not_configured", "configure this channel's credentials to enable its callbacks"}
	KindBadLinkToken   = Kind{2101, http.StatusNotFound, "bad_link_token", "the link is damaged or was not issued by this gateway"}
	KindLinkExpired    = Kind{2102, http.StatusGone, "link_expired", "the link has expired"}
	KindNotFound       = Kind{3001, http.StatusNotFound, "not_found", "check the id; look contacts up with /api/v1/contacts/lookup"}
	KindUnreachable    = Kind{3101, http.StatusUnprocessableEntity, "unreachable", "record the contact's identity for that channel, or let the gateway route"}
	KindNoTemplate     = Kind{3201, http.StatusNotFound, "unknown_template", "create the template first with PUT /api/v1/templates/:id"}
	KindRender         = Kind{3202, http.StatusUnprocessableEntity, "render_failed", "pass the variables the template uses, or shorten the text to the channel's limit"}
	KindTooLate        = Kind{3102, http.StatusConflict, "too_late", "the message is being sent or was sent; it can no longer be cancelled"}
	KindNoHandoff      = Kind{3501, http.StatusConflict, "no_open_handoff", "the contact has no hand-off waiting for a follow-up"}
	KindInvalidScripts = Kind{3601, http.StatusUnprocessableEntity, "invalid_scripts", "fix the listed problems in the dialog scripts; the running scripts stay in use"}
	KindVersionReused  = Kind{3602, http.StatusConflict, "script_version_reused", "raise the version of every script you changed"}
	KindUnavailable    = Kind{5001, http.StatusServiceUnavailable, "storage_unavailable", "Redis did not answer; retry later"}
	KindInternal       = Kind{5000, http.StatusInternalServerError, "internal", "an unexpected error; report the request id"}
	KindNotConfigured  = Kind{5002, http.StatusServiceUnavailable, "not_configured", "this gateway runs without that part; check its configuration"}
	catalogue          = []Kind{KindInvalidJSON, KindBodyTooLarge, KindInvalidField, KindUnauthorized, KindForbidden, KindRouteNotFound, KindMethod, KindSignature, KindStale, KindDecrypt, KindMalformed, KindUnsupported, KindChannelOff, KindBadLinkToken, KindLinkExpired, KindNotFound, KindUnreachable, KindTooLate, KindNoHandoff, KindInvalidScripts, KindVersionReused, KindNoTemplate, KindRender, KindUnavailable, KindNotConfigured, KindInternal,
		KindCouponUnknown, KindCouponUsed, KindCouponsExhausted, KindCouponExpired, KindCouponBatchUnknown, KindCouponBatchExists,
		KindAudience, KindCampaignUnknown, KindCampaignExists, KindCampaignState,
		KindNotPublished,
		KindUnknownScript,
		KindImportBadFile, KindImportTooLarge, KindImportUnknown, KindExportUnknown, KindExportNotReady,
		KindReportPeriod, KindCurrency,
		KindEraseBusy,
	}
)

// Coupon kinds (33xx).
var (
	KindCouponUnknown      = Kind{3301, http.StatusNotFound, "coupon_unknown", "check the code the customer gave; only codes issued to a contact can be redeemed"}
	KindCouponUsed         = Kind{3302, http.StatusConflict, "coupon_used", "the code was redeemed in another order; repeat with the first order_id to read that redemption"}
	KindCouponsExhausted   = Kind{3303, http.StatusConflict, "coupons_exhausted", "add codes with POST /api/v1/coupons/batches/:id/codes"}
	KindCouponExpired      = Kind{3304, http.StatusGone, "coupon_expired", "the batch has expired; use a current batch"}
	KindCouponBatchUnknown = Kind{3305, http.StatusNotFound, "unknown_coupon_batch", "create the batch first with POST /api/v1/coupons/batches"}
	KindCouponBatchExists  = Kind{3306, http.StatusConflict, "coupon_batch_exists", "batch ids are never reused; pick another id"}
)

// Campaign kinds (34xx).
var (
	KindCampaignUnknown = Kind{3402, http.StatusNotFound, "unknown_campaign", "check the id; create campaigns with POST /api/v1/campaigns"}
	KindCampaignExists  = Kind{3403, http.StatusConflict, "campaign_exists", "campaign ids are never reused; pick another id"}
	KindCampaignState   = Kind{3404, http.StatusConflict, "campaign_state", "read the campaign's status first: a cancelled or finished campaign cannot be paused or resumed"}
	KindAudience        = Kind{3401, http.StatusUnprocessableEntity, "invalid_audience", "write terms tag:<name>, stage:<name>, activity:<name> or score>=N joined by AND, OR, NOT and parentheses, with at least one tag term joined by AND"}
)

// Console kinds (39xx).
var (
	KindUnknownScript = Kind{3901, http.StatusNotFound, "unknown_script", "check the script id against GET /api/v1/dialogs; new scripts need POST /api/v1/dialogs/reload"}
)

// Import and export kinds (38xx).
var (
	KindImportBadFile  = Kind{3801, http.StatusUnprocessableEntity, "import_bad_file", "send a CSV (UTF-8 or GBK) or .xlsx whose first row names the columns; map unknown columns with ?mapping= or pass encoding= and format="}
	KindImportTooLarge = Kind{3802, http.StatusRequestEntityTooLarge, "import_too_large", "split the file, or raise transfer.upload_limit"}
	KindImportUnknown  = Kind{3803, http.StatusNotFound, "unknown_import", "check the id; jobs are kept for transfer.retention"}
	KindExportUnknown  = Kind{3804, http.StatusNotFound, "unknown_export", "check the id; jobs are kept for transfer.retention"}
	KindExportNotReady = Kind{3805, http.StatusConflict, "export_not_ready", "wait until GET /api/v1/exports/:id says done; a failed export says why"}
)

// Report kinds (3851-3879).
var (
	KindReportPeriod = Kind{3851, http.StatusBadRequest, "invalid_period", "give from and to as dates like 2026-11-01 (days in reports.timezone), from not after to, at most 366 days"}
	KindCurrency     = Kind{3852, http.StatusUnprocessableEntity, "currency_mismatch", "enter the cost in the reports' currency (reports.currency, default CNY), or leave currency out"}
)

// Error is a failure the middleware renders as {"code", "error"}.
type Error struct {
	Kind Kind
	Msg  string // what exactly is wrong; the kind's hint is appended
	Err  error
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Kind.Hint
	}
	return e.Msg + ": " + e.Kind.Hint
}

func (e *Error) Unwrap() error { return e.Err }

func newError(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// sentinelKinds maps domain sentinels to catalogue kinds, so domain packages
// stay free of HTTP and the mapping lives in one place.
var sentinelKinds = []struct {
	err  error
	kind Kind
}{
	{wecom.ErrSignature, KindSignature},
	{officialaccount.ErrSignature, KindSignature},
	{wecom.ErrStale, KindStale},
	{officialaccount.ErrStale, KindStale},
	{wecom.ErrDecrypt, KindDecrypt},
	{officialaccount.ErrDecrypt, KindDecrypt},
	{wecom.ErrMalformed, KindMalformed},
	{officialaccount.ErrMalformed, KindMalformed},
	{sms.ErrMalformed, KindMalformed},
	{email.ErrMalformed, KindMalformed},
	{channels.ErrBadXML, KindMalformed},
	{wecom.ErrUnsupported, KindUnsupported},
	{officialaccount.ErrBadReply, KindInternal},
	{officialaccount.ErrUnsupported, KindUnsupported},
	{sms.ErrBadPhone, KindInvalidField},
	{email.ErrBadToken, KindBadLinkToken},
	{email.ErrExpired, KindLinkExpired},
	{email.ErrBadClaim, KindInvalidField},
	{contacts.ErrNotFound, KindNotFound},
	{outreach.ErrNotFound, KindNotFound},
	{outreach.ErrInvalid, KindInvalidField},
	{outreach.ErrUnreachable, KindUnreachable},
	{outreach.ErrTooLate, KindTooLate},
	{outreach.ErrNoOpenHandoff, KindNoHandoff},
	{dialogs.ErrVersionReused, KindVersionReused},
	{templates.ErrNotFound, KindNoTemplate},
	{templates.ErrInvalid, KindInvalidField},
	{templates.ErrRender, KindRender},
	{templates.ErrNoChannel, KindRender},
	{contacts.ErrInvalid, KindInvalidField},
	{outreach.ErrCouponInvalid, KindInvalidField},
	{outreach.ErrCouponUnknown, KindCouponUnknown},
	{outreach.ErrCouponUsed, KindCouponUsed},
	{outreach.ErrCouponsExhausted, KindCouponsExhausted},
	{outreach.ErrCouponExpired, KindCouponExpired},
	{outreach.ErrCouponBatchNotFound, KindCouponBatchUnknown},
	{outreach.ErrCouponBatchExists, KindCouponBatchExists},
	{outreach.ErrAudience, KindAudience},
	{outreach.ErrCampaignNotFound, KindCampaignUnknown},
	{outreach.ErrCampaignExists, KindCampaignExists},
	{outreach.ErrCampaignState, KindCampaignState},
	{outreach.ErrCampaignInvalid, KindInvalidField},
	{templates.ErrNotPublished, KindNotPublished},
	{dialogs.ErrUnknownScript, KindUnknownScript},
	{dialogs.ErrInvalidInbound, KindInvalidField},
	{outreach.ErrHandoffsOff, KindNotConfigured},
	{transfer.ErrBadFile, KindImportBadFile},
	{transfer.ErrTooLarge, KindImportTooLarge},
	{transfer.ErrImportNotFound, KindImportUnknown},
	{transfer.ErrExportNotFound, KindExportUnknown},
	{transfer.ErrNotReady, KindExportNotReady},
	{transfer.ErrInvalid, KindInvalidField},
	{reports.ErrPeriod, KindReportPeriod},
	{reports.ErrCurrency, KindCurrency},
	{reports.ErrInvalid, KindInvalidField},
}

// classify turns any error into a catalogue kind and the message to show.
func classify(err error) (Kind, string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind, e.Error()
	}
	var maxBytes *http.MaxBytesError
	if errors.As(err, &maxBytes) {
		return KindBodyTooLarge, fmt.Sprintf("body is larger than %d bytes: %s", maxBytes.Limit, KindBodyTooLarge.Hint)
	}
	for _, s := range sentinelKinds {
		if errors.Is(err, s.err) {
			return s.kind, err.Error()
		}
	}
	if isRedisDown(err) {
		return KindUnavailable, KindUnavailable.Hint
	}
	return KindInternal, KindInternal.Hint
}

func isRedisDown(err error) bool {
	if errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	// A restarted Redis answers LOADING while it reads its AOF, and a
	// Cluster answers TRYAGAIN / CLUSTERDOWN during a failover: the request
	// is fine, the store is briefly not, so the caller should retry (503).
	var rerr redis.Error
	if errors.As(err, &rerr) {
		for _, p := range []string{"LOADING ", "TRYAGAIN ", "CLUSTERDOWN ", "MASTERDOWN "} {
			if strings.HasPrefix(rerr.Error(), p) {
				return true
			}
		}
	}
	var netErr interface{ Timeout() bool }
	return errors.As(err, &netErr)
}

// fail records err for the error middleware and stops the chain.
func fail(c *gin.Context, err error) {
	_ = c.Error(err)
	c.Abort()
}

// renderErrors is the one place errors become responses: it renders the last
// error as {"code", "error"}, logs it with the request id, and counts it.
func (s *Server) renderErrors(c *gin.Context) {
	c.Next()
	if len(c.Errors) == 0 {
		return
	}
	err := c.Errors.Last().Err
	kind, msg := classify(err)
	s.metrics.errors.WithLabelValues(kind.Name).Inc()
	fields := []zap.Field{zap.String("request_id", requestID(c)), zap.Int("code", kind.Code), zap.Error(err)}
	if kind.Status >= 500 {
		s.log.Error("request failed", fields...)
	} else {
		s.log.Info("request rejected", fields...)
	}
	if c.Writer.Written() {
		return
	}
	c.JSON(kind.Status, gin.H{"code": kind.Code, "error": msg})
}
