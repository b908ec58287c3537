package gateway

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/outreach"
)

// previewSample caps the ids a preview returns: enough to spot-check a
// segment in the console, small enough to answer quickly for a large one.
const previewSample = 20

// audiencePreviewRequest is POST /api/v1/campaigns/audience/preview.
type audiencePreviewRequest struct {
	Audience string `json:"audience"`
}

type audiencePreview struct {
	Count  int      `json:"count"`
	Sample []string `json:"sample"`
}

// previewAudience resolves a segment without creating anything, so a
// marketer sees its size before scheduling a campaign on it.
func (s *Server) previewAudience(c *gin.Context) {
	var req audiencePreviewRequest
	if !bindJSON(c, &req) {
		return
	}
	a, err := outreach.ParseAudience(req.Audience)
	if err != nil {
		fail(c, err)
		return
	}
	ids, err := a.Resolve(c.Request.Context(), s.contacts)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, audiencePreview{Count: len(ids), Sample: ids[:min(len(ids), previewSample)]})
}

// campaignRequest is POST /api/v1/campaigns: one "template", or A/B
// "variants" with weights.
type campaignRequest struct {
	ID          string              `json:"id"`
	Name        string              `json:"name"`
	Audience    string              `json:"audience"`
	Template    string              `json:"template"`
	Variants    []outreach.Variant  `json:"variants"`
	Purpose     string              `json:"purpose"`
	Channel     string              `json:"channel"`
	SendAt      *time.Time          `json:"send_at"`
	PilotShare  float64             `json:"pilot_share"`
	TestShare   float64             `json:"test_share"`
	WinnerOpens int                 `json:"winner_opens"`
	Guardrail   *outreach.Guardrail `json:"guardrail"`
	Owner       string              `json:"owner"`
	Vars        map[string]any      `json:"vars"`
}

// campaignView is a campaign with its statistics, as the API shows it.
type campaignView struct {
	*outreach.Campaign
	Stats *outreach.CampaignStats `json:"stats"`
}

// campaigns is the campaign service over the server's pipeline; building
// it does no I/O. The workers' process registers the same service's
// dispatch handler.
func (s *Server) campaigns() (*outreach.Campaigns, error) {
	if s.outreach == nil {
		return nil, newError(KindNotConfigured, "sending is not configured on this gateway")
	}
	return outreach.NewCampaigns(s.rdb, s.outreach, s.contacts, outreach.CampaignOptions{Now: s.now, Log: s.log})
}

func (s *Server) createCampaign(c *gin.Context) {
	cs, err := s.campaigns()
	if err != nil {
		fail(c, err)
		return
	}
	var req campaignRequest
	if !bindJSON(c, &req) {
		return
	}
	variants := req.Variants
	switch {
	case req.Template != "" && len(variants) > 0:
		fail(c, invalidField("template", `give "template" or "variants", not both`))
		return
	case req.Template != "":
		variants = []outreach.Variant{{Name: "main", Template: req.Template, Weight: 1}}
	}
	purpose := channels.Purpose(req.Purpose)
	if purpose == "" {
		purpose = channels.Marketing
	}
	camp := outreach.Campaign{ID: req.ID, Name: req.Name, Audience: req.Audience, Variants: variants, Purpose: purpose,
		Channel: channels.Channel(req.Channel), PilotShare: req.PilotShare, TestShare: req.TestShare, WinnerOpens: req.WinnerOpens,
		Guardrail: req.Guardrail, Owner: req.Owner, Vars: req.Vars}
	if req.SendAt != nil {
		camp.SendAt = *req.SendAt
	}
	created, err := cs.Create(c.Request.Context(), camp)
	if err != nil {
		fail(c, err)
		return
	}
	s.respondCampaign(c, cs, created, http.StatusCreated)
}

func (s *Server) respondCampaign(c *gin.Context, cs *outreach.Campaigns, camp *outreach.Campaign, status int) {
	stats, err := cs.Stats(c.Request.Context(), camp.ID)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(status, campaignView{Campaign: camp, Stats: stats})
}

func (s *Server) getCampaign(c *gin.Context) {
	cs, err := s.campaigns()
	if err != nil {
		fail(c, err)
		return
	}
	camp, err := cs.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	s.respondCampaign(c, cs, camp, http.StatusOK)
}

// steerCampaign serves pause, resume and cancel; each is idempotent.
func (s *Server) steerCampaign(action func(*outreach.Campaigns, *gin.Context) (*outreach.Campaign, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		cs, err := s.campaigns()
		if err != nil {
			fail(c, err)
			return
		}
		camp, err := action(cs, c)
		if err != nil {
			fail(c, err)
			return
		}
		s.respondCampaign(c, cs, camp, http.StatusOK)
	}
}

func pauseCampaign(cs *outreach.Campaigns, c *gin.Context) (*outreach.Campaign, error) {
	return cs.Pause(c.Request.Context(), c.Param("id"))
}

func resumeCampaign(cs *outreach.Campaigns, c *gin.Context) (*outreach.Campaign, error) {
	return cs.Resume(c.Request.Context(), c.Param("id"))
}

func cancelCampaign(cs *outreach.Campaigns, c *gin.Context) (*outreach.Campaign, error) {
	return cs.Cancel(c.Request.Context(), c.Param("id"))
}
