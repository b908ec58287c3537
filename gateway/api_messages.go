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
	// Delay sends this long from now ("24h", "90m"): reminders relative to
	// the event that caused them.
	Delay    string `json:"delay"`
	ID       string `json:"id"`
	Campaign string `json:"campaign"`
}

func (s *Server) postMessage(c *gin.Context) {
	if s.outreach == nil {
		fail(c, newError(KindNotConfigured, "sending is not configured on this gateway"))
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
	if req.Delay != "" {
		d, err := time.ParseDuration(req.Delay)
		if err != nil || d < 0 {
			fail(c, invalidField("delay", "%q must be a positive duration such as 24h or 90m", req.Delay))
			return
		}
		if req.SendAt != nil {
			fail(c, invalidField("delay", "give send_at or delay, not both"))
			return
		}
		in.SendAt = s.now().Add(d)
	}
	m, created, err := s.outreach.Submit(c.Request.Context(), in)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"id": m.ID, "status": m.Status, "duplicate": !created})
}

// cancelMessage withdraws a scheduled message (a reminder no longer wanted).
func (s *Server) cancelMessage(c *gin.Context) {
	if s.outreach == nil {
		fail(c, newError(KindNotConfigured, "sending is not configured on this gateway"))
		return
	}
	m, err := s.outreach.Cancel(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

func (s *Server) getMessage(c *gin.Context) {
	if s.outreach == nil {
		fail(c, newError(KindNotConfigured, "sending is not configured on this gateway"))
		return
	}
	m, err := s.outreach.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	if Role(c.GetString("role")) == RoleSales {
		ct, err := s.contacts.Get(c.Request.Context(), m.ContactID)
		if err != nil {
			fail(c, err)
			return
		}
		if !mayReach(c, ct) {
			return
		}
	}
	c.JSON(http.StatusOK, m)
}

// archivedMessages lists sends asynq gave up on, newest first (?limit=, default 50).
func (s *Server) archivedMessages(c *gin.Context) {
	if s.outreach == nil {
		fail(c, newError(KindNotConfigured, "sending is not configured on this gateway"))
		return
	}
	limit, ok := queryLimit(c, 50, 1000)
	if !ok {
		return
	}
	tasks, err := s.outreach.Archived(c.Request.Context(), limit)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"tasks": tasks})
}
