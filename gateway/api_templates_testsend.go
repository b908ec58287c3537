package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/outreach"
)

// testSendRequest is POST /api/v1/templates/:id/test-send.
type testSendRequest struct {
	To      map[string]string `json:"to"`
	Channel string            `json:"channel"`
	Version int               `json:"version"`
	Vars    map[string]any    `json:"vars"`
	Locale  string            `json:"locale"`
	Variant string            `json:"variant"`
}

// testSendTemplate sends one version (the newest, a draft included, unless
// "version" names another) to a named recipient on a forced channel, through
// the real outbound path: as a transactional message, so it arrives on a
// colleague's phone without marketing consent. The template's samples fill
// the variables the request leaves out.
func (s *Server) testSendTemplate(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	if s.outreach == nil {
		fail(c, newError(KindNotConfigured, "sending is not configured on this gateway"))
		return
	}
	var req testSendRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.Channel == "" {
		fail(c, invalidField("channel", "name the channel to test: sms, email, wecom or officialaccount"))
		return
	}
	if _, ok := channels.KindFor(channels.Channel(req.Channel)); !ok {
		fail(c, invalidField("channel", "%q must be sms, email, wecom or officialaccount", req.Channel))
		return
	}
	if len(req.To) == 0 {
		fail(c, invalidField("to", `name the recipient, e.g. {"phone": "13800138000"}`))
		return
	}
	ids, err := identitiesFrom(req.To)
	if err != nil {
		fail(c, err)
		return
	}
	ctx, id := c.Request.Context(), c.Param("id")
	version := req.Version
	if version < 0 {
		fail(c, invalidField("version", "must be a positive version number"))
		return
	}
	t, err := s.tpls.Latest(ctx, id)
	if err != nil {
		fail(c, err)
		return
	}
	if version == 0 {
		version = t.Version
	} else if t, err = s.tpls.GetVersion(ctx, id, version); err != nil {
		fail(c, err)
		return
	}
	vars := t.Samples()
	for k, v := range req.Vars {
		vars[k] = v
	}
	if req.Locale != "" {
		vars["locale"] = req.Locale
	}
	if req.Variant != "" {
		vars["variant"] = req.Variant
	}
	in := outreach.Intent{ID: testSendID(), Template: id + "@" + strconv.Itoa(version), Vars: vars,
		Purpose: channels.Transactional, Channel: channels.Channel(req.Channel)}
	for _, i := range ids {
		in.Contact = append(in.Contact, contacts.Identity{Kind: string(i.Kind), Value: i.Value})
	}
	m, _, err := s.outreach.Submit(ctx, in)
	if err != nil {
		fail(c, err)
		return
	}
	c.Set("audit_detail", "version "+strconv.Itoa(version)+" on "+req.Channel+" as message "+m.ID)
	c.JSON(http.StatusAccepted, gin.H{"id": m.ID, "status": m.Status, "template_version": version})
}

// testSendID names a test send so it stands out in message lists.
func testSendID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "tpltest-" + hex.EncodeToString(b[:])
}
