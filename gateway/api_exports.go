package gateway

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/contacts/transfer"
	"github.com/journeygate/gateway/outreach"
)

// AudienceResolver resolves export audiences with the campaign audience
// expression, so exports and campaigns select the same contacts and
// transfer stays free of outreach. cmd/gatewayd hands it to
// transfer.NewExports.
func AudienceResolver(src outreach.AudienceSource) transfer.Resolve {
	return func(ctx context.Context, expr string) (int, iter.Seq[string], error) {
		a, err := outreach.ParseAudience(expr)
		if err != nil {
			return 0, nil, fmt.Errorf("%w: %w", err, transfer.ErrInvalid)
		}
		ids, err := a.Resolve(ctx, src)
		if err != nil {
			return 0, nil, err
		}
		return len(ids), slices.Values(ids), nil
	}
}

// exportRequest is POST /api/v1/exports.
type exportRequest struct {
	Audience string   `json:"audience"`
	Format   string   `json:"format"`
	Fields   []string `json:"fields"`
}

// postExport checks the audience at once (422 invalid_audience) and queues
// the export. A sales token exports only the contacts it owns.
func (s *Server) postExport(c *gin.Context) {
	if s.exports == nil {
		fail(c, newError(KindNotConfigured, "exports are not configured on this gateway"))
		return
	}
	var req exportRequest
	if !bindJSON(c, &req) {
		return
	}
	if _, err := outreach.ParseAudience(req.Audience); err != nil {
		fail(c, err)
		return
	}
	owner := ""
	if Role(c.GetString("role")) == RoleSales {
		if owner = c.GetString("token_user"); owner == "" {
			fail(c, newError(KindForbidden, "this sales token has no userid, so it owns no contacts to export"))
			return
		}
	}
	job, err := s.exports.Create(c.Request.Context(), transfer.ExportRequest{Audience: req.Audience, Format: req.Format, Fields: req.Fields,
		Owner: owner, By: c.GetString("token_name")})
	if err != nil {
		fail(c, err)
		return
	}
	c.Set("audit_target", job.ID)
	c.Set("audit_detail", req.Audience)
	c.JSON(http.StatusAccepted, job)
}

// exportFor reads an export and checks a sales token asks for its own.
func (s *Server) exportFor(c *gin.Context) (*transfer.ExportJob, bool) {
	if s.exports == nil {
		fail(c, newError(KindNotConfigured, "exports are not configured on this gateway"))
		return nil, false
	}
	job, err := s.exports.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return nil, false
	}
	if Role(c.GetString("role")) == RoleSales && job.Owner != c.GetString("token_user") {
		// Answer as if it did not exist: its audience is not this rep's business.
		fail(c, fmt.Errorf("export %s: %w", job.ID, transfer.ErrExportNotFound))
		return nil, false
	}
	return job, true
}

func (s *Server) getExport(c *gin.Context) {
	if job, ok := s.exportFor(c); ok {
		c.JSON(http.StatusOK, job)
	}
}

// getExportFile streams the finished file.
func (s *Server) getExportFile(c *gin.Context) {
	if _, ok := s.exportFor(c); !ok {
		return
	}
	job, r, err := s.exports.Open(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	ctype := "text/csv; charset=utf-8"
	if job.Format == transfer.FormatXLSX {
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="contacts-%s.%s"`, job.ID, job.Format))
	c.DataFromReader(http.StatusOK, job.Size, ctype, r, nil)
}
