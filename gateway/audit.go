package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// auditMax bounds the audit stream; older entries are trimmed first.
const auditMax = 200_000

// AuditEntry is one change made through the API: who made it, what it was
// and what it touched, so a team can answer "who changed this template?"
// or "who exported these contacts?" months later.
type AuditEntry struct {
	At        time.Time `json:"at"`
	Who       string    `json:"who"`
	Role      string    `json:"role"`
	Action    string    `json:"action"`
	Target    string    `json:"target,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
}

// audited records the action after the handler succeeded (status < 400).
// The target is the route's :id, unless the handler set "audit_target";
// a handler may add a short "audit_detail" (e.g. the version it saved).
func (s *Server) audited(action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if c.Writer.Status() >= http.StatusBadRequest || len(c.Errors) > 0 {
			return
		}
		target := c.GetString("audit_target")
		if target == "" {
			target = c.Param("id")
		}
		e := AuditEntry{At: s.now().UTC(), Who: c.GetString("token_name"), Role: c.GetString("role"),
			Action: action, Target: target, Detail: c.GetString("audit_detail"), RequestID: c.GetString(requestIDKey)}
		if err := s.recordAudit(c.Request.Context(), e); err != nil {
			s.log.Error("audit entry not written", zap.String("action", action), zap.String("target", target), zap.Error(err))
		}
	}
}

func (s *Server) recordAudit(ctx context.Context, e AuditEntry) error {
	return s.rdb.XAdd(context.WithoutCancel(ctx), &redis.XAddArgs{
		Stream: auditStreamKey, MaxLen: auditMax, Approx: true,
		Values: []any{"at", e.At.Format(time.RFC3339Nano), "who", e.Who, "role", e.Role, "action", e.Action,
			"target", e.Target, "detail", e.Detail, "request_id", e.RequestID},
	}).Err()
}

// getAudit lists the audit log newest first: ?limit= (1-1000, default 100),
// ?target= and ?action= filter, ?before= (an entry id) pages back.
func (s *Server) getAudit(c *gin.Context) {
	limit, ok := queryLimit(c, 100, 1000)
	if !ok {
		return
	}
	end := "+"
	if v := c.Query("before"); v != "" {
		end = "(" + v
	}
	target, action := c.Query("target"), c.Query("action")
	out := []gin.H{}
	for len(out) < limit {
		msgs, err := s.rdb.XRevRangeN(c.Request.Context(), auditStreamKey, end, "-", int64(limit)).Result()
		if err != nil {
			fail(c, err)
			return
		}
		for _, m := range msgs {
			end = "(" + m.ID
			if (target != "" && m.Values["target"] != target) || (action != "" && m.Values["action"] != action) {
				continue
			}
			entry := gin.H{"id": m.ID}
			for k, v := range m.Values {
				if v != "" {
					entry[k] = v
				}
			}
			if out = append(out, entry); len(out) == limit {
				break
			}
		}
		if len(msgs) < limit {
			break
		}
	}
	c.JSON(http.StatusOK, gin.H{"entries": out})
}
