package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

// apiTokens keeps per-person API tokens. Only a token's SHA-256 is stored,
// so a copy of Redis does not hand out working tokens.
type apiTokens struct {
	rdb redis.UniversalClient
	now func() time.Time
}

// apiTokensKey holds hash(token) → the token's record.
const apiTokensKey = "{tokens}"

type apiToken struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// UserID is the WeCom userid of a sales rep: what contacts' owner
	// field names, so a rep's token reaches only that rep's contacts.
	UserID  string    `json:"userid,omitempty"`
	Created time.Time `json:"created"`
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (t apiTokens) lookup(ctx context.Context, token string) (*apiToken, error) {
	raw, err := t.rdb.HGet(ctx, apiTokensKey, tokenHash(token)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec apiToken
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

func (t apiTokens) issue(ctx context.Context, name string, role Role, userID string) (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	token := "jg_" + base64.RawURLEncoding.EncodeToString(b[:])
	rec, _ := json.Marshal(apiToken{Name: name, Role: role, UserID: userID, Created: t.now().UTC()})
	if err := t.rdb.HSet(ctx, apiTokensKey, tokenHash(token), rec).Err(); err != nil {
		return "", err
	}
	return token, nil
}

type tokenRequest struct {
	Name   string `json:"name"`
	Role   Role   `json:"role"`
	UserID string `json:"userid"`
}

// postToken issues a token for a person: marketers manage templates,
// dialogs and campaigns; sales reps read and follow up the contacts they
// own (userid). The token is shown once.
func (s *Server) postToken(c *gin.Context) {
	var req tokenRequest
	if !bindJSON(c, &req) {
		return
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || utf8.RuneCountInString(name) > 64 {
		fail(c, invalidField("name", "say whose token it is in 1-64 characters, e.g. 王伟 (marketing)"))
		return
	}
	switch req.Role {
	case RoleAdmin, RoleMarketer, RoleSales:
	default:
		fail(c, invalidField("role", "%q must be admin, marketer or sales", req.Role))
		return
	}
	userID := strings.TrimSpace(req.UserID)
	if req.Role == RoleSales && userID == "" {
		fail(c, invalidField("userid", "a sales token needs the rep's WeCom userid (e.g. \"rep.li\"): it decides which contacts the rep sees"))
		return
	}
	if utf8.RuneCountInString(userID) > 64 {
		fail(c, invalidField("userid", "a WeCom userid has at most 64 characters"))
		return
	}
	token, err := s.bearers.issue(c.Request.Context(), name, req.Role, userID)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"token": token, "name": name, "role": req.Role, "userid": userID})
}
