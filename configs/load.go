package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads the files in order over Default, then applies environment
// overrides from lookupEnv (os.LookupEnv in production; a map in tests). A
// variable that is set overrides even when empty, so WECOM_API_BASE= selects
// the real platform over a file's sandbox address. Decoding
// each file into the same struct gives the documented layering for free:
// maps merge, lists replace, absent keys keep earlier values. Unknown keys are
// errors, so a typo never silently falls back to a default.
func Load(paths []string, lookupEnv func(string) (string, bool)) (Config, error) {
	cfg := Default()
	for _, p := range paths {
		if err := decodeFile(p, &cfg); err != nil {
			return cfg, err
		}
	}
	applyEnv(&cfg, lookupEnv)
	return cfg, nil
}

func decodeFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return nil
}

// envBinding ties one contract variable to the field it overrides.
type envBinding struct {
	name string
	set  func(*Config, string)
}

var envBindings = []envBinding{
	{"HTTP_ADDR", func(c *Config, v string) { c.HTTP.Addr = v }},
	{"REDIS_URL", func(c *Config, v string) { c.Redis.URL = v }},
	{"REDIS_CLUSTER_ADDRS", func(c *Config, v string) { c.Redis.ClusterAddrs = splitList(v) }},
	{"ADMIN_TOKEN", func(c *Config, v string) { c.Admin.Token = v }},
	{"PUBLIC_BASE_URL", func(c *Config, v string) { c.Public.BaseURL = v }},
	{"TRACKING_SECRET", func(c *Config, v string) { c.Public.TrackingSecret = v }},
	{"WECOM_CORP_ID", func(c *Config, v string) { c.WeCom.CorpID = v }},
	{"WECOM_AGENT_ID", func(c *Config, v string) { c.WeCom.AgentID = v }},
	{"WECOM_SECRET", func(c *Config, v string) { c.WeCom.Secret = v }},
	{"WECOM_TOKEN", func(c *Config, v string) { c.WeCom.Token = v }},
	{"WECOM_AES_KEY", func(c *Config, v string) { c.WeCom.AESKey = v }},
	{"WECOM_API_BASE", func(c *Config, v string) { c.WeCom.APIBase = v }},
	{"WECOM_WELCOME_TEMPLATE", func(c *Config, v string) { c.WeCom.WelcomeTemplate = v }},
	{"WECHAT_APP_ID", func(c *Config, v string) { c.WeChat.AppID = v }},
	{"WECHAT_APP_SECRET", func(c *Config, v string) { c.WeChat.AppSecret = v }},
	{"WECHAT_TOKEN", func(c *Config, v string) { c.WeChat.Token = v }},
	{"WECHAT_AES_KEY", func(c *Config, v string) { c.WeChat.AESKey = v }},
	{"WECHAT_API_BASE", func(c *Config, v string) { c.WeChat.APIBase = v }},
	{"ALIYUN_ACCESS_KEY_ID", func(c *Config, v string) { c.Aliyun.AccessKeyID = v }},
	{"ALIYUN_ACCESS_KEY_SECRET", func(c *Config, v string) { c.Aliyun.AccessKeySecret = v }},
	{"ALIYUN_SMS_SIGN_NAME", func(c *Config, v string) { c.Aliyun.SMSSignName = v }},
	{"ALIYUN_SMS_ENDPOINT", func(c *Config, v string) { c.Aliyun.SMSEndpoint = v }},
	{"ALIYUN_SMS_CALLBACK_TOKEN", func(c *Config, v string) { c.Aliyun.CallbackToken = v }},
	{"SMTP_ADDR", func(c *Config, v string) { c.SMTP.Addr = v }},
	{"SMTP_USERNAME", func(c *Config, v string) { c.SMTP.Username = v }},
	{"SMTP_PASSWORD", func(c *Config, v string) { c.SMTP.Password = v }},
	{"SMTP_FROM", func(c *Config, v string) { c.SMTP.From = v }},
	{"EMAIL_WEBHOOK_TOKEN", func(c *Config, v string) { c.Email.WebhookToken = v }},
	{"DIALOGS_DIR", func(c *Config, v string) { c.Dialogs.Dir = v }},
	{"LOG_LEVEL", func(c *Config, v string) { c.Log.Level = v }},
	{"IMPORT_UPLOAD_LIMIT", func(c *Config, v string) { c.Transfer.UploadLimit, _ = strconv.ParseInt(v, 10, 64) }},
	{"COUPON_REMIND_BEFORE", func(c *Config, v string) { c.Outreach.CouponRemindBefore = parseDurationOrInvalid(v) }},
}

// parseDurationOrInvalid reads a duration from a variable; one that does
// not parse becomes -1, which validation reports with the variable's name.
func parseDurationOrInvalid(v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil {
		return -1
	}
	return d
}

// EnvNames lists every variable Load reads, for docs and tests.
func EnvNames() []string {
	names := make([]string, len(envBindings))
	for i, b := range envBindings {
		names[i] = b.name
	}
	return names
}

func applyEnv(cfg *Config, lookupEnv func(string) (string, bool)) {
	for _, b := range envBindings {
		if v, ok := lookupEnv(b.name); ok {
			b.set(cfg, strings.TrimSpace(v))
		}
	}
}

func splitList(v string) []string {
	var out []string
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
