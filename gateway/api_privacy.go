package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/outreach"
)

// Privacy kinds (3701–3719).
var (
	KindEraseBusy = Kind{3701, http.StatusConflict, "erase_busy", "a send or task for the contact is running; repeat the erasure in a few seconds, it finishes what is left"}
)

// exportContact answers an access request (PIPL art. 45, GDPR art. 15):
// everything held about the contact as one JSON document.
func (s *Server) exportContact(c *gin.Context) {
	ctx := c.Request.Context()
	ex, err := s.contacts.Export(ctx, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	id := ex.Contact.ID
	// Records made before a merge keep the merged-away ids.
	h, err := s.contacts.Holdings(ctx, id)
	if err != nil {
		fail(c, err)
		return
	}
	ids := h.Slots
	body := gin.H{"exported_at": s.now().UTC().Format(time.RFC3339), "contact": ex.Contact, "timeline": ex.Timeline,
		"score": gin.H{"score": ex.Contact.Score, "stage": ex.Contact.Stage, "log": ex.ScoreLog}}
	if s.outreach != nil {
		out, err := s.outreach.ExportContact(ctx, ids)
		if err != nil {
			fail(c, err)
			return
		}
		body["messages"], body["coupons"], body["handoff"] = out.Messages, out.Coupons, out.Handoff
	}
	var sessions []any
	for _, sid := range ids {
		if s.dialogs != nil {
			st, err := s.dialogs.State(ctx, sid)
			if err != nil {
				fail(c, err)
				return
			}
			if st.Script != "" || st.HandedOff {
				sessions = append(sessions, st)
			}
		} else if raw, err := dialogs.StoredSession(ctx, s.rdb, sid); err != nil {
			fail(c, err)
			return
		} else if raw != nil {
			sessions = append(sessions, raw)
		}
	}
	if len(sessions) > 0 {
		body["dialog"] = sessions[0]
	}
	if len(sessions) > 1 {
		body["dialog_before_merge"] = sessions[1:]
	}
	c.Set("audit_target", id)
	c.JSON(http.StatusOK, body)
}

// eraseContact answers an erasure request (PIPL art. 47, GDPR art. 17): the
// contact goes from every key that holds it. Other stores go first and the
// contact itself last, so a failure midway leaves the contact to repeat
// from; a repeat after success erases nothing and says so.
func (s *Server) eraseContact(c *gin.Context) {
	if s.outreach == nil {
		fail(c, newError(KindNotConfigured, "erasure needs the send pipeline, which holds the contact's messages; run it on a gateway with sending configured"))
		return
	}
	ctx := c.Request.Context()
	h, err := s.contacts.Holdings(ctx, c.Param("id"))
	if errors.Is(err, contacts.ErrNotFound) {
		c.JSON(http.StatusOK, gin.H{"id": c.Param("id"), "erased": false, "note": "nothing is held about this contact (already erased, or never known)"})
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	sent, err := s.outreach.EraseContact(ctx, h.Slots, h.Values())
	if errors.Is(err, outreach.ErrBusy) {
		fail(c, &Error{Kind: KindEraseBusy, Msg: "erasure of " + h.ID + " is not finished", Err: err})
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	dlg := 0
	for _, id := range h.Slots { // sessions started before a merge keep the old id
		n, err := dialogs.EraseContact(ctx, s.rdb, id)
		if err != nil {
			fail(c, err)
			return
		}
		dlg += n
	}
	rpt := 0
	if s.reports != nil {
		if rpt, err = s.reports.EraseContact(ctx, h.Slots); err != nil {
			fail(c, err)
			return
		}
	}
	ct, err := s.contacts.Erase(ctx, h)
	if err != nil {
		fail(c, err)
		return
	}
	c.Set("audit_target", h.ID)
	c.Set("audit_detail", strconv.Itoa(ct.Keys)+" contact keys, "+strconv.Itoa(sent.Messages)+" messages")
	c.JSON(http.StatusOK, gin.H{"id": h.ID, "erased": true, "contact": ct, "outreach": sent, "dialog_keys": dlg, "report_keys": rpt})
}
