package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/contacts"
)

// getScore explains a contact's score: its band and stage and the changes
// that made it (events by the scoring rules, decay, script actions, API
// changes), newest first, so a rep sees why a lead is hot.
func (s *Server) getScore(c *gin.Context) {
	limit, ok := queryLimit(c, contacts.DefaultScoreLogMax, contacts.DefaultScoreLogMax)
	if !ok {
		return
	}
	ct, ok := s.reachableContact(c)
	if !ok {
		return
	}
	entries, err := s.contacts.ScoreLog(c.Request.Context(), ct.ID, limit)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"contact_id": ct.ID, "score": ct.Score, "band": s.scoring.Band(ct.Score), "stage": ct.Stage, "entries": entries})
}
