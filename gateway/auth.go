package gateway

import (
	"context"
	"crypto/subtle"
	"strings"

	"github.com/gin-gonic/gin"
)

// Role names what a bearer token may do. The admin token from config has the
// admin role; per-person tokens with narrower roles are issued through the API.
type Role string

const (
	RoleAdmin    Role = "admin"
	RoleMarketer Role = "marketer"
	RoleSales    Role = "sales"
)

// auth admits a request whose bearer token has one of the roles.
func (s *Server) auth(roles ...Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := bearer(c)
		if !ok {
			fail(c, newError(KindUnauthorized, "missing bearer token"))
			return
		}
		role, name, err := s.roleOf(c.Request.Context(), token)
		if err != nil {
			fail(c, err)
			return
		}
		if role == "" {
			fail(c, newError(KindUnauthorized, "unknown token"))
			return
		}
		c.Set("token_name", name)
		for _, r := range roles {
			if r == role {
				c.Set("role", string(role))
				c.Next()
				return
			}
		}
		fail(c, newError(KindForbidden, "role %s may not %s %s", role, c.Request.Method, c.FullPath()))
	}
}

// roleOf finds a token's role and name: the configured admin token, else
// one issued through POST /api/v1/tokens ("" when unknown).
func (s *Server) roleOf(ctx context.Context, token string) (Role, string, error) {
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Admin.Token)) == 1 {
		return RoleAdmin, "admin", nil
	}
	t, err := s.bearers.lookup(ctx, token)
	if err != nil || t == nil {
		return "", "", err
	}
	return t.Role, t.Name, nil
}

func bearer(c *gin.Context) (string, bool) {
	h := c.GetHeader("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}

// sharedSecret checks a webhook secret given as a bearer token or ?token=,
// for platforms and relays that cannot sign their pushes.
func sharedSecret(c *gin.Context, want string) bool {
	got, ok := bearer(c)
	if !ok {
		got = c.Query("token")
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
