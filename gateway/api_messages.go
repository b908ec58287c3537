package gateway

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/outreach"
)

// messageRequest is POST /api/v1/messages.
type messageRequest struct {
	Contact  map[string]string `json:"contact"`
	Template string            `json:"template"`
	Vars     map[string]any    `json:"vars"`
	Purpose  string            `json:"purpose"`
	Channel  string            `json:"channel"`
	SendAt   *time.Time        `json:"send_at"`
	ID       string            `json:"id"`
	Campaign string            `json:"campaign"`
}

func (s *Server) postMessage(c *gin.Context) {
	if s.outreach == nil {
		fail(c, newError(KindUnavailable, "sending is not configured on this gateway"))
		return
	}
	var req messageRequest
	if !bindJSON(c, &req) {
		return
	}
	ids, err := identitiesFrom(req.Contact)
	if err != nil {
		fail(c, err)
		return
	}
	in := outreach.Intent{ID: req.ID, Template: req.Template, Vars: req.Vars, Purpose: channels.Purpose(req.Purpose),
		Channel: channels.Channel(req.Channel), Campaign: req.Campaign}
	for _, id := range ids {
		in.Contact = append(in.Contact, contacts.Identity{Kind: string(id.Kind), Value: id.Value})
	}
	if req.SendAt != nil {
		in.SendAt = *req.SendAt
	}
	m, created, err := s.outreach.Submit(c.Request.Context(), in)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"id": m.ID, "status": m.Status, "duplicate": !created})
}

func (s *Server) getMessage(c *gin.Context) {
	if s.outreach == nil {
		fail(c, newError(KindUnavailable, "sending is not configured on this gateway"))
		return
	}
	m, err := s.outreach.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}
