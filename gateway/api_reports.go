package gateway

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/reports"
)

// reportParams are the query parameters every report takes.
type reportParams struct {
	period reports.Period
	daily  bool // ?interval=day adds the daily time series
	csv    bool // ?format=csv downloads the table instead of JSON
}

// reportRequest reads ?from=&to=&interval=&format=; false when it answered.
func (s *Server) reportRequest(c *gin.Context) (reportParams, bool) {
	if s.reports == nil {
		fail(c, newError(KindNotConfigured, "reports are not configured on this gateway"))
		return reportParams{}, false
	}
	var p reportParams
	switch c.Query("interval") {
	case "", "total":
	case "day":
		p.daily = true
	default:
		fail(c, invalidField("interval", "%q must be day (a daily time series) or total (the default)", c.Query("interval")))
		return p, false
	}
	switch c.Query("format") {
	case "", "json":
	case "csv":
		p.csv = true
	default:
		fail(c, invalidField("format", "%q must be json (the default) or csv", c.Query("format")))
		return p, false
	}
	var err error
	if p.period, err = s.reports.Period(c.Query("from"), c.Query("to")); err != nil {
		fail(c, err)
		return p, false
	}
	return p, true
}

// tabular is a report that can be downloaded as CSV.
type tabular interface {
	Table(daily bool) reports.Table
}

// respondReport answers JSON, or the report's table as a CSV download
// (UTF-8 with a byte-order mark, so Excel shows Chinese correctly).
func respondReport(c *gin.Context, name string, p reportParams, rep tabular) {
	if !p.csv {
		c.JSON(http.StatusOK, rep)
		return
	}
	file := fmt.Sprintf("%s-%s-%s", name, p.period.From.Format("2006-01-02"), p.period.To.Format("2006-01-02"))
	if p.daily {
		file += "-daily"
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+file+`.csv"`)
	c.Status(http.StatusOK)
	if err := reports.WriteCSV(c.Writer, rep.Table(p.daily)); err != nil {
		_ = c.Error(err)
	}
}

func (s *Server) funnelReport(c *gin.Context) {
	p, ok := s.reportRequest(c)
	if !ok {
		return
	}
	rep, err := s.reports.Funnel(c.Request.Context(), p.period, c.Query("source"), p.daily)
	if err != nil {
		fail(c, err)
		return
	}
	respondReport(c, "funnel", p, rep)
}

func (s *Server) campaignReport(c *gin.Context) {
	p, ok := s.reportRequest(c)
	if !ok {
		return
	}
	rep, err := s.reports.Campaigns(c.Request.Context(), p.period, c.Query("campaign"), p.daily)
	if err != nil {
		fail(c, err)
		return
	}
	if cs, err := s.campaigns(); err == nil {
		for i, row := range rep.Campaigns {
			if camp, err := cs.Get(c.Request.Context(), row.Campaign); err == nil {
				rep.Campaigns[i].Name = camp.Name
			}
		}
	}
	respondReport(c, "campaigns", p, rep)
}

func (s *Server) channelReport(c *gin.Context) {
	p, ok := s.reportRequest(c)
	if !ok {
		return
	}
	rep, err := s.reports.Channels(c.Request.Context(), p.period, p.daily)
	if err != nil {
		fail(c, err)
		return
	}
	respondReport(c, "channels", p, rep)
}

// handoffReport shows every rep to admins and marketers (?rep= narrows it);
// a sales rep sees only their own row.
func (s *Server) handoffReport(c *gin.Context) {
	p, ok := s.reportRequest(c)
	if !ok {
		return
	}
	rep := c.Query("rep")
	if Role(c.GetString("role")) == RoleSales {
		own := c.GetString("token_user")
		if rep != "" && rep != own {
			fail(c, newError(KindForbidden, "rep %s is not you: sales tokens read their own hand-offs only", rep))
			return
		}
		rep = own
	}
	out, err := s.reports.Handoffs(c.Request.Context(), p.period, rep, p.daily)
	if err != nil {
		fail(c, err)
		return
	}
	respondReport(c, "handoffs", p, out)
}

// campaignCostRequest is PUT /api/v1/campaigns/:id/cost.
type campaignCostRequest struct {
	Amount   *float64 `json:"amount"`
	Currency string   `json:"currency"`
}

// putCampaignCost enters what a campaign cost, for ROI and CAC; entering it
// again replaces it.
func (s *Server) putCampaignCost(c *gin.Context) {
	if s.reports == nil {
		fail(c, newError(KindNotConfigured, "reports are not configured on this gateway"))
		return
	}
	var req campaignCostRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.Amount == nil {
		fail(c, invalidField("amount", "is required: the campaign's total cost, e.g. 5000"))
		return
	}
	cs, err := s.campaigns()
	if err != nil {
		fail(c, err)
		return
	}
	if _, err := cs.Get(c.Request.Context(), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	cost, err := s.reports.SetCost(c.Request.Context(), c.Param("id"), *req.Amount, req.Currency)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, cost)
}
