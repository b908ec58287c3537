package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/outreach"
)

// capRuleView is one rule as GET /api/v1/caps shows it. Builtin marks the
// platforms' own quotas, which apply whatever outreach.caps says.
type capRuleView struct {
	Name     string `json:"name"`
	Purpose  string `json:"purpose"`
	Channel  string `json:"channel"`
	Kind     string `json:"kind,omitempty"`
	Max      int    `json:"max,omitempty"`
	Window   string `json:"window"`
	Tag      string `json:"tag,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	Builtin  bool   `json:"builtin"`
	What     string `json:"what,omitempty"`
}

// getCaps lists the rules a message can be capped by, under the names its
// "reason" and the campaign statistics ("capped:<name>") use, so a
// marketer can tell a configured cap from a platform's quota.
func (s *Server) getCaps(c *gin.Context) {
	if s.outreach == nil {
		fail(c, newError(KindNotConfigured, "sending is not configured on this gateway"))
		return
	}
	builtin := map[string]bool{}
	for _, r := range outreach.PlatformRules() {
		builtin[r.Name] = true
	}
	rules := []capRuleView{}
	for _, r := range s.outreach.CapRules() {
		v := capRuleView{Name: r.Name, Purpose: r.Purpose, Channel: r.Channel, Kind: r.Kind, Max: r.Max, Window: r.Window.String(),
			Tag: r.Tag, Campaign: r.Campaign, Builtin: builtin[r.Name]}
		if r.Name == outreach.RuleWeComGroupSendDaily {
			v.What = "WeCom delivers at most one customer group-send a day to a customer"
		}
		rules = append(rules, v)
	}
	rules = append(rules, capRuleView{Name: outreach.RuleOAServiceWindow, Purpose: "any+transactional", Channel: string(channels.OfficialAccount),
		Window: outreach.OAServiceWindow.String(), Builtin: true,
		What: "customer-service messages only within 48 h of the follower's last inbound; outside it a template with a template_id goes as a template message, others are capped"})
	c.JSON(http.StatusOK, gin.H{"rules": rules})
}
