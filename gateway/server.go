// Package gateway is the HTTP face of the product: platform callbacks, the
// admin API, tracking links and the console. It verifies and decodes through
// the channel packages, applies through the domain packages, and is the only
// place that knows about HTTP status codes.
package gateway

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels/email"
	"github.com/journeygate/gateway/channels/officialaccount"
	"github.com/journeygate/gateway/channels/wecom"
	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/contacts/transfer"
	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/outreach"
	"github.com/journeygate/gateway/reports"
	"github.com/journeygate/gateway/templates"
)

// Deps is everything the gateway serves with. Channel callbacks left nil are
// answered with channel_not_configured, so a deployment can run only the
// channels it has credentials for.
type Deps struct {
	Config   configs.Config
	Log      *zap.Logger
	Redis    redis.UniversalClient
	Contacts *contacts.Store
	WeCom    *wecom.Callback
	OA       *officialaccount.Callback
	Tokens   *email.Tokens
	// Outreach sends messages; nil answers the message routes with 503.
	Outreach *outreach.Pipeline
	// Templates and Renderer serve the template routes; nil answers them with 503.
	Templates *templates.Store
	Renderer  *templates.Renderer
	// Dialogs runs nurture scripts on customers' events; nil runs none.
	// It needs Outreach to send its replies.
	Dialogs *dialogs.Engine
	// Notifier tells reps in WeCom about hot leads and hand-offs; nil tells no one.
	Notifier *outreach.RepNotifier
	// Scoring gives events their points; the zero value scores nothing.
	Scoring contacts.Scoring
	// TagMirror copies tag changes onto WeCom; nil mirrors nothing.
	TagMirror *outreach.TagMirror
	// WorkersReady reports whether this process's send workers run; nil
	// means it runs none (an API-only gateway).
	WorkersReady func() error
	// Imports and Exports run contact import and export jobs; nil answers
	// their routes with 503.
	Imports *transfer.Imports
	Exports *transfer.Exports
	// Reports pre-aggregates the funnel, campaign, channel and hand-off
	// reports as events arrive; nil records nothing and answers the report
	// routes with 503.
	Reports *reports.Reports
	// Registry receives the gateway's metrics and is served on /metrics.
	Registry *prometheus.Registry
	Now      func() time.Time
}

// Server holds the router and what the handlers share.
type Server struct {
	cfg       configs.Config
	log       *zap.Logger
	rdb       redis.UniversalClient
	contacts  *contacts.Store
	wecom     *wecom.Callback
	oa        *officialaccount.Callback
	tokens    *email.Tokens
	outreach  *outreach.Pipeline
	tpls      *templates.Store
	renderer  *templates.Renderer
	dialogs   *dialogs.Engine
	workers   func() error
	tagMirror *outreach.TagMirror
	scoring   contacts.Scoring
	notifier  *outreach.RepNotifier
	bearers   apiTokens
	registry  *prometheus.Registry
	metrics   *metrics
	inbox     *inbox
	now       func() time.Time
	reqIDs    *requestIDs
	engine    *gin.Engine
	// consoleFiles is the embedded web console, hashed once at start.
	consoleFiles *consoleAssets
	imports      *transfer.Imports
	exports      *transfer.Exports
	reports      *reports.Reports
}

// New builds the server; it needs Redis, the contact store, a registry and
// the email link tokens, and any subset of the channel callbacks.
func New(d Deps) (*Server, error) {
	switch {
	case d.Redis == nil:
		return nil, errors.New("gateway: Redis client is required")
	case d.Contacts == nil:
		return nil, errors.New("gateway: contact store is required")
	case d.Registry == nil:
		return nil, errors.New("gateway: metrics registry is required")
	case d.Tokens == nil:
		return nil, errors.New("gateway: email link tokens are required")
	case d.Dialogs != nil && d.Outreach == nil:
		return nil, errors.New("gateway: dialog scripts need the outreach pipeline to send their replies")
	}
	if d.Log == nil {
		d.Log = zap.NewNop()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	m, err := newMetrics(d.Registry)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: d.Config, log: d.Log, rdb: d.Redis, contacts: d.Contacts,
		wecom: d.WeCom, oa: d.OA, tokens: d.Tokens, outreach: d.Outreach, tpls: d.Templates, renderer: d.Renderer, dialogs: d.Dialogs, workers: d.WorkersReady, tagMirror: d.TagMirror, scoring: d.Scoring, notifier: d.Notifier, registry: d.Registry,
		metrics: m, inbox: newInbox(d.Redis, d.Config.Callbacks.DedupTTL), now: d.Now,
		reqIDs: newRequestIDs(), bearers: apiTokens{rdb: d.Redis, now: d.Now},
	}
	if s.consoleFiles, err = loadConsole(); err != nil {
		return nil, err
	}
	s.imports, s.exports = d.Imports, d.Exports
	s.reports = d.Reports
	d.Redis.AddHook(m.redisHook())
	s.engine = gin.New()
	s.engine.HandleMethodNotAllowed = true
	s.engine.ContextWithFallback = true
	s.engine.Use(s.recoverPanics, s.requestContext, s.renderErrors, s.limitBody)
	s.engine.NoRoute(func(c *gin.Context) {
		fail(c, newError(KindRouteNotFound, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	s.engine.NoMethod(func(c *gin.Context) {
		fail(c, newError(KindMethod, "%s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	s.routes(s.engine)
	return s, nil
}

// Handler is the whole HTTP surface.
func (s *Server) Handler() http.Handler { return s.engine }
