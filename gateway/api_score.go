package gateway

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/contacts"
)

// getScore explains a contact's score: its band and stage and the changes
// that made it (events by the scoring rules, decay, script actions, API
// changes), newest first, so a rep sees why a lead is hot.
func (s *Server) getScore(c *gin.Context) {
	limit := contacts.DefaultScoreLogMax
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > contacts.DefaultScoreLogMax {
			fail(c, invalidField("limit", "%q must be a number from 1 to %d", v, contacts.DefaultScoreLogMax))
			return
		}
		limit = n
	}
	ct, err := s.contacts.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	if !mayReach(c, ct) {
		return
	}
	entries, err := s.contacts.ScoreLog(c.Request.Context(), ct.ID, limit)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"contact_id": ct.ID, "score": ct.Score, "band": s.scoring.Band(ct.Score), "stage": ct.Stage, "entries": entries})
}
