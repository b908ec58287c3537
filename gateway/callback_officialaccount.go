package gateway

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/channels/officialaccount"
)

const oaOff = "official-account callbacks are off: set WECHAT_TOKEN and WECHAT_APP_ID (and WECHAT_AES_KEY for safe mode)"

func (s *Server) oaVerify(c *gin.Context) {
	if s.oa == nil {
		fail(c, newError(KindChannelOff, oaOff))
		return
	}
	echo, err := s.oa.VerifyURL(c.Request.URL.Query())
	if err != nil {
		s.rejectCallback(c, channels.OfficialAccount, err)
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(echo))
}

// oaEvent takes a plain or safe-mode message. A script's first text reply is
// the passive reply; without one it answers "success" (WeChat's "no reply")
// rather than an empty encrypted reply, which WeChat would show the follower
// as an error.
func (s *Server) oaEvent(c *gin.Context) {
	if s.oa == nil {
		fail(c, newError(KindChannelOff, oaOff))
		return
	}
	withBody(c, func(body []byte) {
		in, err := s.oa.Decode(c.Request.URL.Query(), body)
		if errors.Is(err, officialaccount.ErrUnsupported) {
			s.ignoreCallback(c, channels.OfficialAccount, err)
			return
		}
		if err != nil {
			s.rejectCallback(c, channels.OfficialAccount, err)
			return
		}
		reply, ok := s.applyReply(c, in.Event, true)
		if !ok {
			return
		}
		if reply != nil {
			body, err := s.oa.Reply(in, reply.Text)
			if err == nil {
				c.Data(http.StatusOK, "application/xml; charset=utf-8", body)
				return
			}
			// A text WeChat cannot carry inline still goes out, as a
			// customer-service message.
			s.dialogFailed("passive_reply", in.Event, err)
			s.sendDialogReply(c.Request.Context(), in.Event, reply.contactID, channels.OfficialAccount, reply.Reply)
		}
		c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte("success"))
	})
}
