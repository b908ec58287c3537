package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
)

const requestIDKey = "request_id"

// requestIDs makes ids cheaply: a random per-process prefix and a counter,
// unique across restarts and gateways without a syscall per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &requestIDs{prefix: hex.EncodeToString(b[:]) + "-"}
}

func (r *requestIDs) next() string {
	return r.prefix + strconv.FormatUint(r.n.Add(1), 36)
}

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// requestContext assigns the request id (keeping a sane incoming
// X-Request-ID), then logs and measures the request once it is done.
func (s *Server) requestContext(c *gin.Context) {
	start := time.Now()
	id := c.GetHeader("X-Request-ID")
	if !validRequestID(id) {
		id = s.reqIDs.next()
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-ID", id)
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	elapsed := time.Since(start)
	s.metrics.observeRequest(route, c.Request.Method, status, elapsed)
	if ce := s.log.Check(zap.InfoLevel, "request"); ce != nil {
		ce.Write(zap.String("request_id", id), zap.String("method", c.Request.Method), zap.String("route", route),
			zap.Int("status", status), zap.Duration("elapsed", elapsed), zap.String("remote", c.ClientIP()))
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')) {
			return false
		}
	}
	return true
}

// limitBody caps every request body at http.body_limit; reading past it fails
// with *http.MaxBytesError, which the error middleware renders as 413.
func (s *Server) limitBody(c *gin.Context) {
	limit := s.bodyLimit(c)
	if c.Request.ContentLength > limit {
		kind := KindBodyTooLarge
		if limit != s.cfg.HTTP.BodyLimit {
			kind = KindImportTooLarge
		}
		fail(c, newError(kind, "body is %d bytes, the limit is %d", c.Request.ContentLength, limit))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}

// recoverPanics turns a panic into a logged 500 with the catalogue's body,
// keeping the process up.
func (s *Server) recoverPanics(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if err, ok := r.(error); ok && strings.Contains(err.Error(), "broken pipe") {
				return
			}
			s.log.Error("panic in handler", zap.Any("panic", r), zap.String("request_id", requestID(c)), zap.Stack("stack"))
			s.metrics.errors.WithLabelValues(KindInternal.Name).Inc()
			if !c.Writer.Written() {
				c.AbortWithStatusJSON(KindInternal.Status, gin.H{"code": KindInternal.Code, "error": KindInternal.Hint})
			}
		}
	}()
	c.Next()
}
