package gateway

import "github.com/gin-gonic/gin"

// routes is the whole HTTP surface, one line a route, its guard visible:
// "signed" routes verify the platform's signature in the handler, "token"
// routes carry an HMAC-signed link token, "secret" routes a shared webhook
// secret, and the API routes name the roles they admit. API changes that
// must be answerable later ("who did this?") carry audited(action).
func (s *Server) routes(r *gin.Engine) {
	r.GET("/healthz", s.healthz)          // public
	r.GET("/readyz", s.readyz)            // public
	r.GET("/metrics", s.metricsHandler()) // public: expose only on an internal listener or network

	r.GET("/callbacks/wecom", s.wecomVerify)                  // signed
	r.POST("/callbacks/wecom", s.wecomEvent)                  // signed
	r.GET("/callbacks/officialaccount", s.oaVerify)           // signed
	r.POST("/callbacks/officialaccount", s.oaEvent)           // signed
	r.POST("/callbacks/sms/report", s.smsAuth, s.smsReports)  // secret (optional ?token=)
	r.POST("/callbacks/sms/up", s.smsAuth, s.smsReplies)      // secret (optional ?token=)
	r.POST("/callbacks/email/bounce", s.emailAuth, s.bounces) // secret
	r.GET("/t/o/:token", s.trackOpen)                         // token
	r.GET("/t/c/:token", s.trackClick)                        // token
	r.GET("/u/:token", s.unsubscribePage)                     // token
	r.POST("/u/:token", s.unsubscribe)                        // token (RFC 8058 one-click)

	api := r.Group("/api/v1")
	api.GET("/audit", s.auth(RoleAdmin), s.getAudit)
	api.POST("/tokens", s.auth(RoleAdmin), s.audited("token.issue"), s.postToken)
	api.POST("/events", s.auth(RoleAdmin, RoleMarketer), s.postEvent)
	api.GET("/contacts/lookup", s.auth(RoleAdmin, RoleMarketer, RoleSales), s.lookupContact)
	api.GET("/contacts/:id", s.auth(RoleAdmin, RoleMarketer, RoleSales), s.getContact)
	api.GET("/contacts/:id/timeline", s.auth(RoleAdmin, RoleMarketer, RoleSales), s.getTimeline)
	api.GET("/contacts/:id/score", s.auth(RoleAdmin, RoleMarketer, RoleSales), s.getScore)
	api.GET("/contacts/:id/export", s.auth(RoleAdmin), s.audited("contact.export"), s.exportContact)
	api.DELETE("/contacts/:id", s.auth(RoleAdmin), s.audited("contact.erase"), s.eraseContact)
	api.POST("/contacts/:id/tags", s.auth(RoleAdmin, RoleMarketer), s.audited("contact.tags"), s.changeTags)
	api.PUT("/contacts/:id/consent", s.auth(RoleAdmin, RoleMarketer), s.audited("contact.consent"), s.putConsent)
	api.POST("/contacts/:id/handoff/done", s.auth(RoleAdmin, RoleMarketer, RoleSales), s.audited("handoff.done"), s.handoffDone)
	api.POST("/dialogs/reload", s.auth(RoleAdmin, RoleMarketer), s.audited("dialogs.reload"), s.reloadDialogs)
	api.GET("/templates", s.auth(RoleAdmin, RoleMarketer), s.listTemplates)
	api.PUT("/templates/:id", s.auth(RoleAdmin, RoleMarketer), s.audited("template.save"), s.putTemplate)
	api.GET("/templates/:id", s.auth(RoleAdmin, RoleMarketer), s.getTemplate)
	api.GET("/templates/:id/versions", s.auth(RoleAdmin, RoleMarketer), s.templateVersions)
	api.POST("/templates/:id/preview", s.auth(RoleAdmin, RoleMarketer), s.previewTemplate)
	api.POST("/templates/preview", s.auth(RoleAdmin, RoleMarketer), s.previewUnsaved)
	api.POST("/templates/:id/publish", s.auth(RoleAdmin, RoleMarketer), s.audited("template.publish"), s.publishTemplate)
	api.GET("/templates/:id/diff", s.auth(RoleAdmin, RoleMarketer), s.diffTemplate)
	api.POST("/templates/:id/test-send", s.auth(RoleAdmin, RoleMarketer), s.audited("template.test_send"), s.testSendTemplate)
	api.POST("/messages", s.auth(RoleAdmin, RoleMarketer), s.postMessage)
	api.GET("/messages/archived", s.auth(RoleAdmin, RoleMarketer), s.archivedMessages)
	api.GET("/messages/:id", s.auth(RoleAdmin, RoleMarketer, RoleSales), s.getMessage)
	api.DELETE("/messages/:id", s.auth(RoleAdmin, RoleMarketer), s.audited("message.cancel"), s.cancelMessage)
	api.POST("/coupons/batches", s.auth(RoleAdmin, RoleMarketer), s.audited("coupons.batch_create"), s.createCouponBatch)
	api.GET("/coupons/batches/:id", s.auth(RoleAdmin, RoleMarketer), s.getCouponBatch)
	api.POST("/coupons/batches/:id/codes", s.auth(RoleAdmin, RoleMarketer), s.audited("coupons.codes_add"), s.addCouponCodes)
	api.POST("/coupons/batches/:id/issue", s.auth(RoleAdmin, RoleMarketer), s.issueCoupon)
	api.POST("/coupons/batches/:id/remind", s.auth(RoleAdmin, RoleMarketer), s.remindCoupons)
	api.POST("/campaigns/audience/preview", s.auth(RoleAdmin, RoleMarketer), s.previewAudience)
	api.POST("/campaigns", s.auth(RoleAdmin, RoleMarketer), s.audited("campaign.create"), s.createCampaign)
	api.GET("/campaigns/:id", s.auth(RoleAdmin, RoleMarketer), s.getCampaign)
	api.POST("/campaigns/:id/pause", s.auth(RoleAdmin, RoleMarketer), s.audited("campaign.pause"), s.steerCampaign(pauseCampaign))
	api.POST("/campaigns/:id/resume", s.auth(RoleAdmin, RoleMarketer), s.audited("campaign.resume"), s.steerCampaign(resumeCampaign))
	api.POST("/campaigns/:id/cancel", s.auth(RoleAdmin, RoleMarketer), s.audited("campaign.cancel"), s.steerCampaign(cancelCampaign))
	api.POST("/coupons/redeem", s.auth(RoleAdmin, RoleMarketer), s.redeemCoupon) // JSON, or a shop system's form post with the same bearer

	api.GET("/campaigns", s.auth(RoleAdmin, RoleMarketer), s.listCampaigns)
	api.GET("/dialogs", s.auth(RoleAdmin, RoleMarketer), s.listDialogs)
	api.POST("/dialogs/:id/try", s.auth(RoleAdmin, RoleMarketer), s.tryDialog) // dry run: sends nothing, changes no contact
	api.GET("/handoffs", s.auth(RoleAdmin, RoleMarketer, RoleSales), s.listHandoffs)
	api.GET("/me", s.auth(RoleAdmin, RoleMarketer, RoleSales), s.me)

	r.GET("/console", s.consoleRedirect)                                                              // public: the page holds no data; every API call carries the token
	r.GET("/console/*file", s.console)                                                                // public
	api.POST("/imports", s.auth(RoleAdmin, RoleMarketer), s.audited("contacts.import"), s.postImport) // body up to transfer.upload_limit
	api.GET("/imports/:id", s.auth(RoleAdmin, RoleMarketer), s.getImport)
	api.GET("/imports/:id/rejects.csv", s.auth(RoleAdmin, RoleMarketer), s.getImportRejects)
	api.POST("/exports", s.auth(RoleAdmin, RoleMarketer, RoleSales), s.audited("contacts.export"), s.postExport) // sales: own contacts only
	api.GET("/exports/:id", s.auth(RoleAdmin, RoleMarketer, RoleSales), s.getExport)
	api.GET("/exports/:id/file", s.auth(RoleAdmin, RoleMarketer, RoleSales), s.getExportFile)
	api.PUT("/campaigns/:id/cost", s.auth(RoleAdmin, RoleMarketer), s.audited("campaign.cost"), s.putCampaignCost)
	api.GET("/reports/funnel", s.auth(RoleAdmin, RoleMarketer), s.funnelReport)
	api.GET("/reports/campaigns", s.auth(RoleAdmin, RoleMarketer), s.campaignReport)
	api.GET("/reports/channels", s.auth(RoleAdmin, RoleMarketer), s.channelReport)
	api.GET("/reports/handoffs", s.auth(RoleAdmin, RoleMarketer, RoleSales), s.handoffReport) // sales: their own row only
	api.GET("/caps", s.auth(RoleAdmin, RoleMarketer), s.getCaps)
}
