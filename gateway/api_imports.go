package gateway

import (
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/contacts/transfer"
)

// importRoute is the upload route; it takes files up to
// transfer.upload_limit instead of http.body_limit.
const importRoute = "/api/v1/imports"

// bodyLimit is the request body limit of the matched route.
func (s *Server) bodyLimit(c *gin.Context) int64 {
	if c.FullPath() == importRoute && c.Request.Method == http.MethodPost && s.imports != nil {
		return s.imports.UploadLimit()
	}
	return s.cfg.HTTP.BodyLimit
}

// postImport takes a CSV or XLSX list as multipart (the first file part)
// or as the raw body, with options in the query string: dry_run, encoding,
// format, mapping (JSON), tag_separator. It answers 202 with the job.
func (s *Server) postImport(c *gin.Context) {
	if s.imports == nil {
		fail(c, newError(KindNotConfigured, "imports are not configured on this gateway"))
		return
	}
	mapping, err := transfer.ParseMapping(c.Query("mapping"), s.imports.Channels())
	if err != nil {
		fail(c, err)
		return
	}
	req := transfer.ImportRequest{Format: c.Query("format"), Encoding: c.Query("encoding"), Mapping: mapping,
		TagSeparator: c.Query("tag_separator"), By: c.GetString("token_name")}
	switch c.Query("dry_run") {
	case "", "0", "false":
	case "1", "true":
		req.DryRun = true
	default:
		fail(c, invalidField("dry_run", "%q must be 1 or 0", c.Query("dry_run")))
		return
	}
	var file io.Reader = c.Request.Body
	if mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt == "multipart/form-data" {
		mr, err := c.Request.MultipartReader()
		if err != nil {
			fail(c, invalidField("body", "the multipart body does not parse: %v", err))
			return
		}
		for {
			part, err := mr.NextPart()
			if err != nil {
				fail(c, invalidField("file", "the multipart body has no file part; send the list as a part named file"))
				return
			}
			if part.FileName() != "" {
				file, req.FileName = part, part.FileName()
				break
			}
		}
	} else {
		req.FileName = c.Query("file_name")
	}
	if req.Format == "" && strings.HasSuffix(strings.ToLower(req.FileName), ".csv") {
		req.Format = transfer.FormatCSV
	}
	job, err := s.imports.Create(c.Request.Context(), file, req)
	if err != nil {
		fail(c, err)
		return
	}
	c.Set("audit_target", job.ID)
	detail := req.FileName
	if req.DryRun {
		detail += " (dry run)"
	}
	c.Set("audit_detail", strings.TrimSpace(detail))
	c.JSON(http.StatusAccepted, job)
}

// getImport is the job's progress: status, rows_total, rows_done,
// created, updated, unchanged, rejected and the first errors and changes.
func (s *Server) getImport(c *gin.Context) {
	if s.imports == nil {
		fail(c, newError(KindNotConfigured, "imports are not configured on this gateway"))
		return
	}
	job, err := s.imports.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, job)
}

// getImportRejects downloads the rejected rows (line, column, reason).
func (s *Server) getImportRejects(c *gin.Context) {
	if s.imports == nil {
		fail(c, newError(KindNotConfigured, "imports are not configured on this gateway"))
		return
	}
	if _, err := s.imports.Get(c.Request.Context(), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="rejects-`+c.Param("id")+`.csv"`)
	c.Status(http.StatusOK)
	if err := s.imports.WriteRejects(c.Request.Context(), c.Param("id"), c.Writer); err != nil {
		fail(c, err)
	}
}
