package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/outreach"
)

// listHandoffs is GET /api/v1/handoffs?mine=1&overdue=1&rep=: the open
// hand-offs, oldest first. A sales token always sees only its own (its
// userid); admins and marketers see everyone's, or one rep's with rep= or
// their own with mine=1.
func (s *Server) listHandoffs(c *gin.Context) {
	rep := c.Query("rep")
	if c.Query("mine") == "1" || Role(c.GetString("role")) == RoleSales {
		rep = c.GetString("token_user")
		if rep == "" {
			fail(c, invalidField("mine", "your token has no userid; ask an admin for a token with one, or leave mine out"))
			return
		}
	}
	limit, ok := queryLimit(c, 200, 500)
	if !ok {
		return
	}
	list, err := s.notifier.ListOpen(c.Request.Context(), outreach.HandoffQuery{Rep: rep, Overdue: c.Query("overdue") == "1", Now: s.now(), Limit: limit})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"handoffs": list})
}
