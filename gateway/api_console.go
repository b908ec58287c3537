package gateway

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/dialogs"
)

// Routes the console needs beyond the single-item API: lists to pick from
// and a dry run of a dialog script.

// listCampaigns is GET /api/v1/campaigns?limit=N: newest first, without
// statistics (GET /api/v1/campaigns/:id has them).
func (s *Server) listCampaigns(c *gin.Context) {
	cs, err := s.campaigns()
	if err != nil {
		fail(c, err)
		return
	}
	limit, ok := queryLimit(c, 50, 200)
	if !ok {
		return
	}
	list, err := cs.List(c.Request.Context(), limit)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"campaigns": list})
}

// dialogScript is one running script as the console lists it.
type dialogScript struct {
	ID       string   `json:"id"`
	Version  int      `json:"version"`
	Priority int      `json:"priority"`
	File     string   `json:"file"`
	Steps    []string `json:"steps"`
}

// listDialogs is GET /api/v1/dialogs: the scripts running now, and the
// problems a reload of dialogs.dir would report at this moment (so an
// edited file's mistakes show before anyone reloads).
func (s *Server) listDialogs(c *gin.Context) {
	if s.dialogs == nil {
		fail(c, newError(KindNotConfigured, "this gateway runs no dialog scripts (dialogs.dir had none at start)"))
		return
	}
	scripts := []dialogScript{}
	for _, sc := range s.dialogs.Library().Scripts() {
		scripts = append(scripts, dialogScript{ID: sc.ID, Version: sc.Version, Priority: sc.Priority, File: sc.File, Steps: sc.StepIDs()})
	}
	problems := dialogs.Problems{}
	if _, err := dialogs.Load(s.cfg.Dialogs.Dir, s.dialogLoadOptions(c.Request.Context())); err != nil {
		var ps dialogs.Problems
		if !errors.As(err, &ps) {
			ps = dialogs.Problems{{File: s.cfg.Dialogs.Dir, Message: err.Error()}}
		}
		problems = ps
	}
	c.JSON(http.StatusOK, gin.H{"scripts": scripts, "problems": problems})
}

// tryRequest is POST /api/v1/dialogs/:id/try.
type tryRequest struct {
	Messages []string `json:"messages"`
	Channel  string   `json:"channel"`
}

// tryDialog replays a test chat against a running script: the console
// sends the whole conversation each time and shows the transcript. Nothing
// is sent and no contact changes.
func (s *Server) tryDialog(c *gin.Context) {
	if s.dialogs == nil {
		fail(c, newError(KindNotConfigured, "this gateway runs no dialog scripts (dialogs.dir had none at start)"))
		return
	}
	var req tryRequest
	if c.Request.ContentLength != 0 && !bindJSON(c, &req) {
		return
	}
	ch := channels.Channel(req.Channel)
	switch ch {
	case "", channels.WeCom, channels.OfficialAccount, channels.SMS, channels.Email:
	default:
		fail(c, invalidField("channel", "%q is not one of wecom, officialaccount, sms, email", req.Channel))
		return
	}
	turns, err := s.dialogs.Try(c.Request.Context(), c.Param("id"), req.Messages, ch)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"script": c.Param("id"), "turns": turns})
}

// me is GET /api/v1/me: who the token belongs to, so the console shows
// the pages the role may use.
func (s *Server) me(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"name": c.GetString("token_name"), "role": c.GetString("role"), "userid": c.GetString("token_user")})
}
