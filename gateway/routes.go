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

	r.GET("/console", s.consoleRedirect) // public: the page holds no data; every API call carries the token
	r.GET("/console/*file", s.console)   // public

	api := r.Group("/api/v1")
	all, staff, admin := []Role{RoleAdmin, RoleMarketer, RoleSales}, []Role{RoleAdmin, RoleMarketer}, []Role{RoleAdmin}

	// People and their rights.
	api.GET("/me", s.auth(all...), s.me)
	api.POST("/tokens", s.auth(admin...), s.audited("token.issue"), s.postToken)
	api.GET("/audit", s.auth(admin...), s.getAudit)

	// Contacts (sales: only the contacts they own).
	api.POST("/events", s.auth(staff...), s.postEvent)
	api.GET("/contacts/lookup", s.auth(all...), s.lookupContact)
	api.GET("/contacts/:id", s.auth(all...), s.getContact)
	api.GET("/contacts/:id/timeline", s.auth(all...), s.getTimeline)
	api.GET("/contacts/:id/score", s.auth(all...), s.getScore)
	api.POST("/contacts/:id/tags", s.auth(staff...), s.audited("contact.tags"), s.changeTags)
	api.PUT("/contacts/:id/consent", s.auth(staff...), s.audited("contact.consent"), s.putConsent)
	api.GET("/contacts/:id/export", s.auth(admin...), s.audited("contact.export"), s.exportContact)
	api.DELETE("/contacts/:id", s.auth(admin...), s.audited("contact.erase"), s.eraseContact)
	api.POST("/imports", s.auth(staff...), s.audited("contacts.import"), s.postImport) // body up to transfer.upload_limit
	api.GET("/imports/:id", s.auth(staff...), s.getImport)
	api.GET("/imports/:id/rejects.csv", s.auth(staff...), s.getImportRejects)
	api.POST("/exports", s.auth(all...), s.audited("contacts.export"), s.postExport) // sales: own contacts only
	api.GET("/exports/:id", s.auth(all...), s.getExport)
	api.GET("/exports/:id/file", s.auth(all...), s.getExportFile)

	// Hand-offs to sales.
	api.GET("/handoffs", s.auth(all...), s.listHandoffs) // sales: their own
	api.POST("/contacts/:id/handoff/done", s.auth(all...), s.audited("handoff.done"), s.handoffDone)

	// Templates.
	api.GET("/templates", s.auth(staff...), s.listTemplates)
	api.PUT("/templates/:id", s.auth(staff...), s.audited("template.save"), s.putTemplate)
	api.GET("/templates/:id", s.auth(staff...), s.getTemplate)
	api.GET("/templates/:id/versions", s.auth(staff...), s.templateVersions)
	api.GET("/templates/:id/diff", s.auth(staff...), s.diffTemplate)
	api.POST("/templates/:id/publish", s.auth(staff...), s.audited("template.publish"), s.publishTemplate)
	api.POST("/templates/:id/preview", s.auth(staff...), s.previewTemplate)
	api.POST("/templates/preview", s.auth(staff...), s.previewUnsaved)
	api.POST("/templates/:id/test-send", s.auth(staff...), s.audited("template.test_send"), s.testSendTemplate)

	// Messages and the rules they go out under.
	api.POST("/messages", s.auth(staff...), s.postMessage)
	api.GET("/messages/archived", s.auth(staff...), s.archivedMessages)
	api.GET("/messages/:id", s.auth(all...), s.getMessage) // sales: their contacts' messages
	api.DELETE("/messages/:id", s.auth(staff...), s.audited("message.cancel"), s.cancelMessage)
	api.GET("/caps", s.auth(staff...), s.getCaps)

	// Coupons.
	api.POST("/coupons/batches", s.auth(staff...), s.audited("coupons.batch_create"), s.createCouponBatch)
	api.GET("/coupons/batches/:id", s.auth(staff...), s.getCouponBatch)
	api.POST("/coupons/batches/:id/codes", s.auth(staff...), s.audited("coupons.codes_add"), s.addCouponCodes)
	api.POST("/coupons/batches/:id/issue", s.auth(staff...), s.issueCoupon)
	api.POST("/coupons/batches/:id/remind", s.auth(staff...), s.audited("coupons.remind"), s.remindCoupons)
	api.POST("/coupons/redeem", s.auth(staff...), s.redeemCoupon) // JSON, or a shop system's form post with the same bearer

	// Campaigns.
	api.GET("/campaigns", s.auth(staff...), s.listCampaigns)
	api.POST("/campaigns/audience/preview", s.auth(staff...), s.previewAudience)
	api.POST("/campaigns", s.auth(staff...), s.audited("campaign.create"), s.createCampaign)
	api.GET("/campaigns/:id", s.auth(staff...), s.getCampaign)
	api.PUT("/campaigns/:id/cost", s.auth(staff...), s.audited("campaign.cost"), s.putCampaignCost)
	api.POST("/campaigns/:id/pause", s.auth(staff...), s.audited("campaign.pause"), s.steerCampaign(pauseCampaign))
	api.POST("/campaigns/:id/resume", s.auth(staff...), s.audited("campaign.resume"), s.steerCampaign(resumeCampaign))
	api.POST("/campaigns/:id/cancel", s.auth(staff...), s.audited("campaign.cancel"), s.steerCampaign(cancelCampaign))

	// Nurture scripts.
	api.GET("/dialogs", s.auth(staff...), s.listDialogs)
	api.POST("/dialogs/reload", s.auth(staff...), s.audited("dialogs.reload"), s.reloadDialogs)
	api.POST("/dialogs/:id/try", s.auth(staff...), s.tryDialog) // dry run: sends nothing, changes no contact

	// Reports.
	api.GET("/reports/funnel", s.auth(staff...), s.funnelReport)
	api.GET("/reports/campaigns", s.auth(staff...), s.campaignReport)
	api.GET("/reports/channels", s.auth(staff...), s.channelReport)
	api.GET("/reports/handoffs", s.auth(all...), s.handoffReport) // sales: their own row only
}
