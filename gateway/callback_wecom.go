package gateway

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/channels/wecom"
)

// wecomVerify answers WeCom's URL check with the decrypted echostr as plain text.
func (s *Server) wecomVerify(c *gin.Context) {
	if s.wecom == nil {
		fail(c, newError(KindChannelOff, "WeCom callbacks are off: set WECOM_TOKEN, WECOM_AES_KEY and WECOM_CORP_ID"))
		return
	}
	echo, err := s.wecom.VerifyURL(c.Query("msg_signature"), c.Query("timestamp"), c.Query("nonce"), c.Query("echostr"))
	if err != nil {
		s.rejectCallback(c, channels.WeCom, err)
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", echo)
}

// wecomEvent takes one encrypted callback. WeCom wants an answer within 5 s
// and retries otherwise, so only the fast Redis write happens here.
func (s *Server) wecomEvent(c *gin.Context) {
	if s.wecom == nil {
		fail(c, newError(KindChannelOff, "WeCom callbacks are off: set WECOM_TOKEN, WECOM_AES_KEY and WECOM_CORP_ID"))
		return
	}
	withBody(c, func(body []byte) {
		ev, err := s.wecom.Decode(c.Query("msg_signature"), c.Query("timestamp"), c.Query("nonce"), body)
		if errors.Is(err, wecom.ErrUnsupported) {
			s.ignoreCallback(c, channels.WeCom, err)
			return
		}
		if err != nil {
			s.rejectCallback(c, channels.WeCom, err)
			return
		}
		if !s.apply(c, ev) {
			return
		}
		c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte("success"))
	})
}

// ignoreCallback acknowledges a signed, well-formed event of a type we do
// not act on: any other answer makes the platform retry, and WeChat shows
// the follower "service unavailable". Nothing is stored.
func (s *Server) ignoreCallback(c *gin.Context, source channels.Channel, err error) {
	s.metrics.callbacks.WithLabelValues(string(source), outcomeIgnored).Inc()
	s.log.Debug("callback ignored", zap.String("request_id", requestID(c)), zap.Error(err))
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte("success"))
}

// rejectCallback counts and renders a callback that failed verification or decoding.
func (s *Server) rejectCallback(c *gin.Context, source channels.Channel, err error) {
	s.metrics.callbacks.WithLabelValues(string(source), outcomeRejected).Inc()
	fail(c, err)
}

// apply ingests one event and counts the outcome; on a storage failure it
// renders the error (5xx, so the platform retries) and returns false.
func (s *Server) apply(c *gin.Context, ev channels.Event) bool {
	_, ok := s.applyReply(c, ev, false)
	return ok
}

// applyReply is apply for a callback that can answer inline: it also
// returns the script's first text reply when passive (nil if none).
func (s *Server) applyReply(c *gin.Context, ev channels.Event, passive bool) (*inlineReply, bool) {
	outcome, reply, err := s.ingestReply(c.Request.Context(), ev, passive)
	s.metrics.callbacks.WithLabelValues(string(ev.Source), outcome).Inc()
	if err != nil {
		fail(c, err)
		return nil, false
	}
	return reply, true
}
