package gateway

import (
	"context"
	"errors"
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

// templateSave is PUT /api/v1/templates/:id: the template plus whether to
// keep it as a draft.
type templateSave struct {
	templates.Template
	Draft bool `json:"draft"`
}

// putTemplate saves a new version and publishes it, or keeps it as a draft
// with "draft": true; saving identical content is a no-op that answers the
// newest version (200 either way, "changed" tells which).
func (s *Server) putTemplate(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	var req templateSave
	if !bindJSON(c, &req) {
		return
	}
	t := req.Template
	t.ID = c.Param("id")
	ctx := c.Request.Context()
	before, _ := s.tpls.Latest(ctx, t.ID)
	save := s.tpls.Save
	if req.Draft {
		save = s.tpls.SaveDraft
	}
	saved, err := save(ctx, t, c.GetString("token_name"))
	if err != nil {
		fail(c, err)
		return
	}
	detail := "version " + strconv.Itoa(saved.Version)
	if saved.Status == templates.StatusDraft {
		detail += " (draft)"
	}
	c.Set("audit_detail", detail)
	c.JSON(http.StatusOK, gin.H{"template": saved, "changed": saved.Version != before.Version})
}

// getTemplate answers the newest version (a draft included), ?version=N,
// or ?version=published for the one sends use.
func (s *Server) getTemplate(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	var (
		t   templates.Template
		err error
	)
	ctx, id := c.Request.Context(), c.Param("id")
	switch v := c.Query("version"); v {
	case "":
		t, err = s.tpls.Latest(ctx, id)
	case "published":
		t, err = s.tpls.Get(ctx, id)
	default:
		n, ok := versionParam(c, "version", v)
		if !ok {
			return
		}
		t, err = s.tpls.GetVersion(ctx, id, n)
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

func versionParam(c *gin.Context, name, v string) (int, bool) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		fail(c, invalidField(name, "%q must be a positive version number", v))
		return 0, false
	}
	return n, true
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

// templateVersions lists every version newest first with its status, and
// the publish log (who made which version live, when).
func (s *Server) templateVersions(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	ctx, id := c.Request.Context(), c.Param("id")
	versions, err := s.tpls.Versions(ctx, id)
	if err != nil {
		fail(c, err)
		return
	}
	publishes, err := s.tpls.Publishes(ctx, id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"versions": versions, "publishes": publishes})
}

type publishRequest struct {
	Version int `json:"version"`
}

// publishTemplate makes a version the one sends use; an older version is
// the rollback.
func (s *Server) publishTemplate(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	var req publishRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.Version < 1 {
		fail(c, invalidField("version", "give the version to publish, e.g. {\"version\": 3}"))
		return
	}
	t, changed, err := s.tpls.Publish(c.Request.Context(), c.Param("id"), req.Version, c.GetString("token_name"))
	if err != nil {
		fail(c, err)
		return
	}
	detail := "version " + strconv.Itoa(t.Version)
	if !changed {
		detail += " (already published)"
	}
	c.Set("audit_detail", detail)
	c.JSON(http.StatusOK, t)
}

// diffTemplate compares two versions field by field.
func (s *Server) diffTemplate(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	from, ok := versionParam(c, "from", c.Query("from"))
	if !ok {
		return
	}
	to, ok := versionParam(c, "to", c.Query("to"))
	if !ok {
		return
	}
	ctx, id := c.Request.Context(), c.Param("id")
	a, err := s.tpls.GetVersion(ctx, id, from)
	if err != nil {
		fail(c, err)
		return
	}
	b, err := s.tpls.GetVersion(ctx, id, to)
	if err != nil {
		fail(c, err)
		return
	}
	changes := templates.Diff(a, b)
	if changes == nil {
		changes = []templates.Change{}
	}
	c.JSON(http.StatusOK, gin.H{"from": from, "to": to, "changes": changes})
}

type previewRequest struct {
	Vars    map[string]any    `json:"vars"`
	Contact map[string]string `json:"contact"`
	Version int               `json:"version"`
	Locale  string            `json:"locale"`
	Variant string            `json:"variant"`
}

// previewTemplate renders every channel of the newest version (or
// "version": N) with the given vars, merged over a real contact's fields
// when one is named, exactly as a send would; each channel reports its own
// error.
func (s *Server) previewTemplate(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	var req previewRequest
	if c.Request.ContentLength != 0 && !bindJSON(c, &req) {
		return
	}
	ctx, id := c.Request.Context(), c.Param("id")
	var (
		t   templates.Template
		err error
	)
	if req.Version != 0 {
		t, err = s.tpls.GetVersion(ctx, id, req.Version)
	} else {
		t, err = s.tpls.Latest(ctx, id)
	}
	if err != nil {
		fail(c, err)
		return
	}
	s.preview(c, t, req, nil)
}

type unsavedPreviewRequest struct {
	Template templates.Template `json:"template"`
	previewRequest
}

// previewUnsaved renders a template body that is not saved: the console's
// live preview while someone types. Validation problems come back next to
// the rendered channels instead of failing the request.
func (s *Server) previewUnsaved(c *gin.Context) {
	if s.templatesOff(c) {
		return
	}
	var req unsavedPreviewRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.Version != 0 {
		fail(c, invalidField("version", "an unsaved template has no versions; preview a saved one at /api/v1/templates/:id/preview"))
		return
	}
	t := req.Template
	if t.ID == "" {
		t.ID = "preview"
	}
	t.Version, t.Status, t.PublishedVersion = 0, "", 0 // never the renderer's cache
	problems := []templates.Problem{}
	if ie := (*templates.InvalidError)(nil); errors.As(templates.Validate(t), &ie) {
		problems = ie.Problems
	}
	s.preview(c, t, req.previewRequest, problems)
}

// preview renders t for the request and answers the channels.
func (s *Server) preview(c *gin.Context, t templates.Template, req previewRequest, problems []templates.Problem) {
	data, err := s.previewData(c.Request.Context(), req)
	if err != nil {
		fail(c, err)
		return
	}
	res := s.renderer.PreviewWith(t, data, templates.PreviewOptions{SMSSign: s.cfg.Aliyun.SMSSignName})
	body := gin.H{"template": t.ID, "version": t.Version, "channels": res}
	if problems != nil {
		body["problems"] = problems
	}
	c.JSON(http.StatusOK, body)
}

// previewData is what a send to the named contact would render with.
func (s *Server) previewData(ctx context.Context, req previewRequest) (map[string]any, error) {
	data := req.Vars
	if len(req.Contact) > 0 {
		ids, err := identitiesFrom(req.Contact)
		if err != nil {
			return nil, err
		}
		id, err := s.contacts.Lookup(ctx, identityOf(ids[0]))
		if err != nil {
			return nil, err
		}
		ct, err := s.contacts.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		data = outreach.RenderData(ct, req.Vars)
	}
	if data == nil {
		data = map[string]any{}
	}
	// The request's locale and variant win over the contact's and the vars'.
	if req.Locale != "" || req.Variant != "" {
		merged := make(map[string]any, len(data)+2)
		for k, v := range data {
			merged[k] = v
		}
		if req.Locale != "" {
			merged["locale"] = req.Locale
		}
		if req.Variant != "" {
			merged["variant"] = req.Variant
		}
		data = merged
	}
	return data, nil
}
