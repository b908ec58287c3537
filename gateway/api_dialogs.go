package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/templates"
)

// ReloadDialogs loads the scripts again from dialogs.dir and makes them the
// ones new sessions start from; running sessions finish on their version.
// A folder with problems changes nothing and reports every problem.
func (s *Server) ReloadDialogs(ctx context.Context) (*dialogs.Library, error) {
	if s.dialogs == nil {
		return nil, newError(KindNotConfigured, "this gateway runs no dialog scripts (dialogs.dir had none at start)")
	}
	lib, err := dialogs.Load(s.cfg.Dialogs.Dir, s.dialogLoadOptions(ctx))
	if err != nil {
		return nil, err
	}
	if err := s.dialogs.SetLibrary(lib); err != nil {
		return nil, err
	}
	return lib, nil
}

// dialogLoadOptions checks that the templates scripts name exist.
func (s *Server) dialogLoadOptions(ctx context.Context) dialogs.LoadOptions {
	opts := dialogs.LoadOptions{}
	if s.tpls != nil {
		opts.TemplateExists = func(id string) bool {
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := s.tpls.Get(c, id)
			return err == nil || !errors.Is(err, templates.ErrNotFound)
		}
	}
	return opts
}

func (s *Server) reloadDialogs(c *gin.Context) {
	lib, err := s.ReloadDialogs(c.Request.Context())
	var ps dialogs.Problems
	if errors.As(err, &ps) {
		c.JSON(KindInvalidScripts.Status, gin.H{"code": KindInvalidScripts.Code, "error": err.Error(), "problems": ps})
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	var loaded []string
	for _, sc := range lib.Scripts() {
		loaded = append(loaded, sc.Key())
	}
	c.JSON(http.StatusOK, gin.H{"scripts": loaded})
}
