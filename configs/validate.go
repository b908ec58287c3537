package configs

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Purposes and channels a cap or quiet-hours rule may name.
var (
	purposes = []string{"transactional", "service", "marketing"}
	channels = []string{"wecom", "officialaccount", "sms", "email"}
)

// Validate reports every problem at once, each naming the option, its
// environment variable where it has one, and how to fix it, so an operator
// fixes a config in one pass rather than one restart per mistake.
func (c *Config) Validate() error {
	var p problems
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		p.add("http.addr (HTTP_ADDR) %q is not host:port, e.g. 127.0.0.1:8080", c.HTTP.Addr)
	}
	if c.HTTP.BodyLimit < 1024 {
		p.add("http.body_limit must be at least 1024 bytes (default 1048576)")
	}
	for name, d := range map[string]time.Duration{"http.read_timeout": c.HTTP.ReadTimeout, "http.write_timeout": c.HTTP.WriteTimeout, "http.shutdown_timeout": c.HTTP.ShutdownTimeout} {
		if d <= 0 {
			p.add("%s must be a positive duration such as 10s", name)
		}
	}
	if len(c.Redis.ClusterAddrs) == 0 {
		if _, err := redis.ParseURL(c.Redis.URL); err != nil {
			p.add("redis.url (REDIS_URL) %q: %v; use redis://[:password@]host:port/db", c.Redis.URL, err)
		}
	}
	for _, a := range c.Redis.ClusterAddrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			p.add("redis.cluster_addrs (REDIS_CLUSTER_ADDRS) entry %q is not host:port", a)
		}
	}
	if len(c.Admin.Token) < 16 {
		p.add("admin.token (ADMIN_TOKEN) must be at least 16 characters; generate one with: openssl rand -hex 24")
	}
	if u, err := url.Parse(c.Public.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add("public.base_url (PUBLIC_BASE_URL) %q must be an absolute http(s) URL such as https://gw.example.com", c.Public.BaseURL)
	}
	if len(c.Public.TrackingSecret) < 16 {
		p.add("public.tracking_secret (TRACKING_SECRET) must be at least 16 characters; generate one with: openssl rand -hex 32")
	}
	if c.Callbacks.MaxSkew < time.Minute {
		p.add("callbacks.max_skew must be at least 1m (default 5m): platforms retry for a while with the same timestamp")
	}
	if c.Callbacks.DedupTTL < time.Hour {
		p.add("callbacks.dedup_ttl must be at least 1h (default 72h): Aliyun retries for 16 minutes, WeChat for 15 seconds")
	}
	if c.Contacts.TimelineMax < 10 || c.Contacts.TimelineMax > 10000 {
		p.add("contacts.timeline_max must be between 10 and 10000 (default 200)")
	}
	if c.Contacts.SilentAfter < time.Hour {
		p.add("contacts.silent_after must be at least 1h (default 720h): contacts without activity that long turn silent")
	}
	if c.Contacts.SweepEvery < time.Second || c.Contacts.SweepEvery > time.Hour {
		p.add("contacts.sweep_every must be between 1s and 1h (default 1m)")
	}
	c.validateWeCom(&p)
	c.validateHandoff(&p)
	c.validateWeChat(&p)
	c.validateOutreach(&p)
	if c.Transfer.UploadLimit < 1024 || c.Transfer.UploadLimit > 1<<30 {
		p.add("transfer.upload_limit (IMPORT_UPLOAD_LIMIT) must be a byte count from 1024 to 1073741824 (default 20971520 = 20 MiB)")
	}
	if c.Transfer.Retention < time.Hour {
		p.add("transfer.retention must be at least 1h (default 168h): jobs, reports and export files live that long")
	}
	if c.Transfer.Workers < 1 || c.Transfer.Workers > 64 {
		p.add("transfer.workers must be between 1 and 64 (default 8)")
	}
	c.validateReports(&p)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level (LOG_LEVEL) %q must be debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		p.add("log.format %q must be json or console", c.Log.Format)
	}
	return p.err()
}

func (c *Config) validateWeCom(p *problems) {
	w := c.WeCom
	if !w.CallbacksEnabled() {
		return
	}
	if w.Token == "" {
		p.add("wecom.token (WECOM_TOKEN) is required when wecom.aes_key is set: copy it from the app's 接收消息 settings")
	}
	if !validAESKey(w.AESKey) {
		p.add("wecom.aes_key (WECOM_AES_KEY) must be the 43-character EncodingAESKey from the app's 接收消息 settings")
	}
	if w.CorpID == "" {
		p.add("wecom.corp_id (WECOM_CORP_ID) is required to decrypt callbacks: it is the 企业ID under 我的企业")
	}
	checkBase(p, "wecom.api_base (WECOM_API_BASE)", w.APIBase)
}

func (c *Config) validateWeChat(p *problems) {
	w := c.WeChat
	if !w.CallbacksEnabled() {
		if w.AESKey != "" {
			p.add("wechat.token (WECHAT_TOKEN) is required when wechat.aes_key is set")
		}
		return
	}
	if w.AppID == "" {
		p.add("wechat.app_id (WECHAT_APP_ID) is required: it is the AppID under 开发 > 基本配置")
	}
	if w.AESKey != "" && !validAESKey(w.AESKey) {
		p.add("wechat.aes_key (WECHAT_AES_KEY) must be the 43-character EncodingAESKey, or empty for plain mode only")
	}
	checkBase(p, "wechat.api_base (WECHAT_API_BASE)", w.APIBase)
}

func checkBase(p *problems, name, base string) {
	if base == "" {
		return
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add("%s %q must be empty (the real platform) or an http(s) base URL such as http://127.0.0.1:9001", name, base)
	}
}

func validAESKey(k string) bool {
	if len(k) != 43 {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(k + "=")
	return err == nil && len(raw) == 32
}

// builtinRuleNames are the platform quotas the outreach package always
// applies (outreach.RuleWeComGroupSendDaily, outreach.RuleOAServiceWindow);
// configs imports no domain package, so they are repeated here.
var builtinRuleNames = []string{"wecom-groupsend-daily", "oa-service-window"}

func (c *Config) validateOutreach(p *problems) {
	if c.Outreach.Workers < 1 || c.Outreach.Workers > 1000 {
		p.add("outreach.workers must be between 1 and 1000 (default 10)")
	}
	if d := c.Outreach.PollInterval; d < 10*time.Millisecond || d > time.Minute {
		p.add("outreach.poll_interval must be between 10ms and 1m, e.g. 1s (default 1s)")
	}
	if c.Outreach.MaxRetry < 0 || c.Outreach.MaxRetry > 50 {
		p.add("outreach.max_retry must be between 0 and 50 (default 8)")
	}
	if d := c.Outreach.CouponRemindBefore; d < 0 || d > 90*24*time.Hour {
		p.add("outreach.coupon_remind_before (COUPON_REMIND_BEFORE) must be 0 (off) or a duration up to 2160h, e.g. 72h (default 72h)")
	}
	seen := map[string]bool{}
	for i, r := range c.Outreach.Caps {
		where := fmt.Sprintf("outreach.caps[%d]", i)
		if r.Name == "" {
			p.add("%s needs a name (used in metrics and the capped status)", where)
		} else if slices.Contains(builtinRuleNames, r.Name) {
			p.add("%s name %q is a built-in platform rule, which always applies; pick another name", where, r.Name)
		} else if seen[r.Name] {
			p.add("%s name %q is used twice; cap names must be unique", where, r.Name)
		}
		seen[r.Name] = true
		if !slices.Contains(purposes, r.Purpose) && r.Purpose != "any" {
			p.add("%s purpose %q must be one of %s or any", where, r.Purpose, strings.Join(purposes, ", "))
		}
		if !slices.Contains(channels, r.Channel) && r.Channel != "any" {
			p.add("%s channel %q must be one of %s or any", where, r.Channel, strings.Join(channels, ", "))
		}
		if r.Max < 1 {
			p.add("%s max must be at least 1", where)
		}
		if r.Window < time.Minute {
			p.add("%s window must be at least 1m, e.g. 24h or 168h", where)
		}
	}
	for i, q := range c.Outreach.QuietHours {
		where := fmt.Sprintf("outreach.quiet_hours[%d]", i)
		if len(q.Channels) == 0 {
			p.add("%s needs channels, e.g. [sms, wecom]", where)
		}
		for _, ch := range q.Channels {
			if !slices.Contains(channels, ch) {
				p.add("%s channel %q must be one of %s", where, ch, strings.Join(channels, ", "))
			}
		}
		for _, t := range []string{q.Start, q.End} {
			if _, err := time.Parse("15:04", t); err != nil {
				p.add("%s time %q must be HH:MM in 24-hour form, e.g. 21:00", where, t)
			}
		}
		if q.Start == q.End && q.Start != "" {
			p.add("%s start and end are both %s; remove the rule to switch quiet hours off", where, q.Start)
		}
		if _, err := time.LoadLocation(q.Timezone); err != nil || q.Timezone == "" {
			p.add("%s timezone %q must be an IANA zone such as Asia/Shanghai", where, q.Timezone)
		}
	}
}

type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	errs := make([]error, len(p))
	for i, msg := range p {
		errs[i] = errors.New(msg)
	}
	return errors.Join(errs...)
}
