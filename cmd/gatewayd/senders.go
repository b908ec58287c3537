package main

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/util"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/channels/email"
	"github.com/journeygate/gateway/channels/officialaccount"
	"github.com/journeygate/gateway/channels/sms"
	"github.com/journeygate/gateway/channels/wecom"
	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/outreach"
)

// platformTimeout bounds every call to WeCom and WeChat.
const platformTimeout = 10 * time.Second

// buildSenders makes a sender for every channel whose credentials are set.
// The WeChat SDK reads its HTTP client from a package variable; setting it
// here, once, is the only way to give its calls timeouts and the sandbox's
// addresses.
func buildSenders(cfg configs.Config, rdb redis.UniversalClient, tokens *email.Tokens) ([]outreach.Sender, func(), error) {
	client, err := channels.NewPlatformClient(platformTimeout, map[string]string{
		channels.WeComAPIHost:  cfg.WeCom.APIBase,
		channels.WeChatAPIHost: cfg.WeChat.APIBase,
	})
	if err != nil {
		return nil, nil, err
	}
	util.DefaultHTTPClient = client

	var senders []outreach.Sender
	closeAll := func() {}
	if w := cfg.WeCom; w.CorpID != "" && w.Secret != "" && w.AgentID != "" {
		s, err := wecom.NewSender(wecom.SenderConfig{CorpID: w.CorpID, AgentID: w.AgentID, Secret: w.Secret, Redis: rdb})
		if err != nil {
			return nil, nil, fmt.Errorf("wecom sender: %w", err)
		}
		senders = append(senders, s)
	}
	if w := cfg.WeChat; w.AppID != "" && w.AppSecret != "" {
		s, err := officialaccount.NewSender(officialaccount.SenderConfig{AppID: w.AppID, AppSecret: w.AppSecret, Redis: rdb})
		if err != nil {
			return nil, nil, fmt.Errorf("official-account sender: %w", err)
		}
		senders = append(senders, s)
	}
	if a := cfg.Aliyun; a.AccessKeyID != "" && a.AccessKeySecret != "" && a.SMSSignName != "" {
		s, err := sms.NewSender(sms.SenderConfig{AccessKeyID: a.AccessKeyID, AccessKeySecret: a.AccessKeySecret, SignName: a.SMSSignName, Endpoint: a.SMSEndpoint})
		if err != nil {
			return nil, nil, fmt.Errorf("sms sender: %w", err)
		}
		senders = append(senders, s)
	}
	if m := cfg.SMTP; m.Addr != "" && m.From != "" {
		s, err := email.NewSender(email.SenderConfig{Addr: m.Addr, Username: m.Username, Password: m.Password, From: m.From,
			PublicBaseURL: cfg.Public.BaseURL, Tokens: tokens, Now: time.Now})
		if err != nil {
			return nil, nil, fmt.Errorf("email sender: %w", err)
		}
		senders = append(senders, s)
		closeAll = func() { _ = s.Close() }
	}
	return senders, closeAll, nil
}

// tagMirror mirrors the configured tags onto WeCom through the WeCom
// sender; without the sender or a tag map it is nil and mirrors nothing.
func tagMirror(rdb redis.UniversalClient, w configs.WeCom, senders []outreach.Sender, log *zap.Logger) *outreach.TagMirror {
	if len(w.TagIDs) == 0 {
		return nil
	}
	for _, s := range senders {
		if ws, ok := s.(*wecom.Sender); ok {
			return outreach.NewTagMirror(rdb, ws, w.TagIDs, log.Named("tagmirror"))
		}
	}
	log.Warn("wecom.tag_ids is set but WeCom sending is not configured (corp id, agent id, secret): tags are not mirrored")
	return nil
}

// repNotifier tells reps about hot leads and hand-offs through the WeCom
// sender; without it there is no one to tell, and it is nil.
func repNotifier(rdb redis.UniversalClient, cfg configs.Config, senders []outreach.Sender, log *zap.Logger) *outreach.RepNotifier {
	for _, s := range senders {
		if ws, ok := s.(*wecom.Sender); ok {
			n := outreach.NewRepNotifier(rdb, ws, nil, cfg.Public.BaseURL, log.Named("handoff"))
			n.SetPolicy(outreach.HandoffPolicy{SLA: cfg.WeCom.HandoffSLA, Lead: cfg.WeCom.HandoffLead})
			n.SetDuty(dutyReps(cfg.WeCom.HandoffReps), time.Now)
			return n
		}
	}
	return nil
}

// dutyReps turns the configured reps into their duty; Config.Validate has
// refused any whose hours, days or zone do not parse.
func dutyReps(reps []configs.HandoffRep) []outreach.DutyRep {
	out := make([]outreach.DutyRep, 0, len(reps))
	for _, r := range reps {
		sh, err := r.Shift()
		if err != nil {
			continue
		}
		out = append(out, outreach.DutyRep{UserID: r.UserID, Days: sh.Days, Start: sh.Start, End: sh.End, Loc: sh.Loc, DailyLimit: r.DailyLimit})
	}
	return out
}
