package gateway

import (
	"context"
	_ "embed"
	"html/template"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/channels/email"
)

//go:embed unsubscribe.html
var unsubscribeHTML string

var unsubscribePageTmpl = template.Must(template.New("unsubscribe").Parse(unsubscribeHTML))

// trackOpen serves the open pixel. Mail clients fetch images eagerly, so the
// open counts once per message (the event id) and never touches last_seen.
func (s *Server) trackOpen(c *gin.Context) {
	claim, err := s.tokens.Verify(c.Param("token"), 'o')
	if err != nil {
		fail(c, err)
		return
	}
	s.applyQuietly(c, claim.Event(s.now()))
	c.Header("Cache-Control", "no-store, max-age=0")
	c.Data(http.StatusOK, "image/gif", email.OpenPixel())
}

// trackClick records the click under a short deadline, then redirects: a
// Redis hiccup must never strand a reader on an error page.
func (s *Server) trackClick(c *gin.Context) {
	claim, err := s.tokens.Verify(c.Param("token"), 'c')
	if err != nil {
		fail(c, err)
		return
	}
	s.applyQuietly(c, claim.Event(s.now()))
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, claim.URL)
}

// unsubscribePage only shows a confirmation: link scanners fetch every URL in
// a mail, so a GET must never unsubscribe anyone.
func (s *Server) unsubscribePage(c *gin.Context) {
	claim, err := s.tokens.Verify(c.Param("token"), 'u')
	if err != nil {
		fail(c, err)
		return
	}
	s.renderUnsubscribe(c, claim.Address, false)
}

// unsubscribe takes both the page's form and RFC 8058 one-click POSTs
// (body List-Unsubscribe=One-Click) and opts the address out of email marketing.
func (s *Server) unsubscribe(c *gin.Context) {
	claim, err := s.tokens.Verify(c.Param("token"), 'u')
	if err != nil {
		fail(c, err)
		return
	}
	if !s.apply(c, claim.Event(s.now())) {
		return
	}
	s.renderUnsubscribe(c, claim.Address, true)
}

func (s *Server) renderUnsubscribe(c *gin.Context, address string, done bool) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	_ = unsubscribePageTmpl.Execute(c.Writer, map[string]any{"Address": address, "Done": done, "Action": c.Request.URL.Path})
}

// applyQuietly records a tracking event without failing the response, and
// gives Redis half a second: a reader must never wait on a hiccup.
func (s *Server) applyQuietly(c *gin.Context, ev channels.Event) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 500*time.Millisecond)
	defer cancel()
	outcome, err := s.ingest(ctx, ev)
	s.metrics.callbacks.WithLabelValues(string(ev.Source), outcome).Inc()
	if err != nil {
		s.log.Warn("tracking event not recorded", zap.String("request_id", requestID(c)), zap.String("event", ev.ID), zap.Error(err))
	}
}

func (s *Server) emailAuth(c *gin.Context) {
	if s.cfg.Email.WebhookToken == "" {
		fail(c, newError(KindChannelOff, "bounce notifications are off: set EMAIL_WEBHOOK_TOKEN"))
		return
	}
	if !sharedSecret(c, s.cfg.Email.WebhookToken) {
		s.metrics.callbacks.WithLabelValues(string(channels.Email), outcomeRejected).Inc()
		fail(c, newError(KindUnauthorized, "send the webhook token as Authorization: Bearer <EMAIL_WEBHOOK_TOKEN> or ?token="))
		return
	}
	c.Next()
}

// bounces takes the documented bounce/complaint JSON (see channels/email).
func (s *Server) bounces(c *gin.Context) {
	withBody(c, func(body []byte) {
		events, err := email.DecodeBounces(body, s.now())
		if err != nil {
			s.rejectCallback(c, channels.Email, err)
			return
		}
		for _, ev := range events {
			if !s.apply(c, ev) {
				return
			}
		}
		c.JSON(http.StatusOK, gin.H{"accepted": len(events)})
	})
}
