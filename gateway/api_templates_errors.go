package gateway

import "net/http"

// Template kinds (3203–3229).
var (
	KindNotPublished = Kind{3203, http.StatusConflict, "template_not_published", "the template has drafts only: publish a version with POST /api/v1/templates/:id/publish"}
)
