package gateway

import (
	"context"
	"crypto/subtle"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/contacts"
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
		who, err := s.roleOf(c.Request.Context(), token)
		if err != nil {
			fail(c, err)
			return
		}
		if who == nil {
			fail(c, newError(KindUnauthorized, "unknown token"))
			return
		}
		role := who.Role
		c.Set("token_name", who.Name)
		c.Set("token_user", who.UserID)
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

// roleOf finds who holds a token: the configured admin token, else one
// issued through POST /api/v1/tokens (nil when unknown).
func (s *Server) roleOf(ctx context.Context, token string) (*apiToken, error) {
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Admin.Token)) == 1 {
		return &apiToken{Name: "admin", Role: RoleAdmin}, nil
	}
	return s.bearers.lookup(ctx, token)
}

// mayReach reports whether the caller may see or act on a contact: sales
// reps reach only the contacts they own; other roles reach all. On false
// the request has been answered with 403.
func mayReach(c *gin.Context, ct *contacts.Contact) bool {
	if Role(c.GetString("role")) != RoleSales || (ct.Owner != "" && ct.Owner == c.GetString("token_user")) {
		return true
	}
	fail(c, newError(KindForbidden, "contact %s is not yours: sales tokens reach the contacts whose owner is their userid", ct.ID))
	return false
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

// reachableContact reads the contact named by the route's :id and checks
// the caller may reach it; on false the request has been answered.
func (s *Server) reachableContact(c *gin.Context) (*contacts.Contact, bool) {
	ct, err := s.contacts.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return nil, false
	}
	return ct, mayReach(c, ct)
}
