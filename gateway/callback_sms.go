package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/channels/sms"
)

// smsAck is the answer Aliyun's push expects; anything else makes it retry
// after 1, 5 and 10 minutes.
var smsAck = gin.H{"code": 0, "msg": "接收成功"}

// smsAuth checks the optional push token: Aliyun's HTTP push is unsigned, so
// a secret in the configured URL is the only proof of origin it can carry.
func (s *Server) smsAuth(c *gin.Context) {
	if want := s.cfg.Aliyun.CallbackToken; want != "" && !sharedSecret(c, want) {
		s.metrics.callbacks.WithLabelValues(string(channels.SMS), outcomeRejected).Inc()
		fail(c, newError(KindUnauthorized, "SMS push token is missing or wrong: append ?token=<aliyun.callback_token> to the push URL"))
		return
	}
	c.Next()
}

func (s *Server) smsReports(c *gin.Context) { s.smsPush(c, sms.DecodeReports) }

func (s *Server) smsReplies(c *gin.Context) { s.smsPush(c, sms.DecodeReplies) }

// smsPush decodes a whole batch before applying any of it, so a bad item
// changes nothing; a storage failure mid-batch answers 5xx and Aliyun's retry
// re-applies only what was not yet seen.
func (s *Server) smsPush(c *gin.Context, decode func([]byte) ([]channels.Event, error)) {
	withBody(c, func(body []byte) {
		events, err := decode(body)
		if err != nil {
			s.rejectCallback(c, channels.SMS, err)
			return
		}
		for _, ev := range events {
			if !s.apply(c, ev) {
				return
			}
		}
		c.JSON(http.StatusOK, smsAck)
	})
}
