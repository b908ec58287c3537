package gateway

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/outreach"
	"github.com/journeygate/gateway/templates"
)

func (s *Server) templatesOff(c *gin.Context) bool {
	if s.tpls == nil || s.renderer == nil {
		fail(c, newError(KindNotConfigured, "templates are not configured on this gateway"))
		return true
	}
	return false
}

// putTemplate saves a new version; saving identical content is a no-op that
// answers the current version (200 either way, "changed" tells which).
func (s *Server) putTemplate(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	var t templates.Template
	if !bindJSON(c, &t) {
		return
	}
	t.ID = c.Param("id")
	before, _ := s.tpls.Get(c.Request.Context(), t.ID)
	saved, err := s.tpls.Save(c.Request.Context(), t, c.GetString("token_name"))
	if err != nil {
		fail(c, err)
		return
	}
	c.Set("audit_detail", "version "+strconv.Itoa(saved.Version))
	c.JSON(http.StatusOK, gin.H{"template": saved, "changed": saved.Version != before.Version})
}

func (s *Server) getTemplate(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	var (
		t   templates.Template
		err error
	)
	if v := c.Query("version"); v != "" {
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 1 {
			fail(c, invalidField("version", "%q must be a positive number", v))
			return
		}
		t, err = s.tpls.GetVersion(c.Request.Context(), c.Param("id"), n)
	} else {
		t, err = s.tpls.Get(c.Request.Context(), c.Param("id"))
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

func (s *Server) listTemplates(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	list, err := s.tpls.List(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"templates": list})
}

func (s *Server) templateVersions(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	versions, err := s.tpls.Versions(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"versions": versions})
}

type previewRequest struct {
	Vars    map[string]any    `json:"vars"`
	Contact map[string]string `json:"contact"`
}

// previewTemplate renders every channel of the current version with the
// given vars, merged over a real contact's fields when one is named, exactly
// as a send would; each channel reports its own error.
func (s *Server) previewTemplate(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	var req previewRequest
	if c.Request.ContentLength != 0 && !bindJSON(c, &req) {
		return
	}
	t, err := s.tpls.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	data := req.Vars
	if len(req.Contact) > 0 {
		ids, err := identitiesFrom(req.Contact)
		if err != nil {
			fail(c, err)
			return
		}
		id, err := s.contacts.Lookup(c.Request.Context(), identityOf(ids[0]))
		if err != nil {
			fail(c, err)
			return
		}
		ct, err := s.contacts.Get(c.Request.Context(), id)
		if err != nil {
			fail(c, err)
			return
		}
		data = outreach.RenderData(ct, req.Vars)
	}
	if data == nil {
		data = map[string]any{}
	}
	c.JSON(http.StatusOK, gin.H{"template": t.ID, "version": t.Version, "channels": s.renderer.Preview(t, data)})
}
