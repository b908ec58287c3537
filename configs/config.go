// Package configs holds the gateway's typed configuration and the shipped YAML
// files (gateway.yaml, dialog scripts, seed templates, scoring rules) that make
// a working demo out of the box.
package configs

import (
	"time"
)

// Config is everything gatewayd reads at start. Files fill it first, then the
// contract's environment variables override single values, so operators can
// keep secrets out of files.
type Config struct {
	HTTP      HTTP      `yaml:"http"`
	Redis     Redis     `yaml:"redis"`
	Admin     Admin     `yaml:"admin"`
	Public    Public    `yaml:"public"`
	Callbacks Callbacks `yaml:"callbacks"`
	Contacts  Contacts  `yaml:"contacts"`
	WeCom     WeCom     `yaml:"wecom"`
	WeChat    WeChat    `yaml:"wechat"`
	Aliyun    Aliyun    `yaml:"aliyun"`
	SMTP      SMTP      `yaml:"smtp"`
	Email     Email     `yaml:"email"`
	Outreach  Outreach  `yaml:"outreach"`
	Dialogs   Dialogs   `yaml:"dialogs"`
	Log       Log       `yaml:"log"`
	Transfer  Transfer  `yaml:"transfer"`
	Reports   Reports   `yaml:"reports"`
}

// Transfer configures contact import and export jobs.
type Transfer struct {
	// UploadLimit bounds an imported file in bytes; uploads are kept in
	// Redis while the job runs, so this bounds that memory too.
	UploadLimit int64 `yaml:"upload_limit"`
	// Retention is how long uploads, export files, jobs and their reports
	// are kept.
	Retention time.Duration `yaml:"retention"`
	// Workers is how many rows one import job applies at once.
	Workers int `yaml:"workers"`
}

type HTTP struct {
	Addr            string        `yaml:"addr"`
	BodyLimit       int64         `yaml:"body_limit"`
	ReadTimeout     time.Duration `yaml:"read_timeout"`
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

type Redis struct {
	URL          string   `yaml:"url"`
	ClusterAddrs []string `yaml:"cluster_addrs"`
	PoolSize     int      `yaml:"pool_size"`
	// RequirePersistence refuses to start when neither AOF nor RDB is on,
	// instead of only warning.
	RequirePersistence bool `yaml:"require_persistence"`
}

type Admin struct {
	Token string `yaml:"token"`
}

type Public struct {
	BaseURL        string `yaml:"base_url"`
	TrackingSecret string `yaml:"tracking_secret"`
}

type Callbacks struct {
	MaxSkew  time.Duration `yaml:"max_skew"`
	DedupTTL time.Duration `yaml:"dedup_ttl"`
}

type Contacts struct {
	TimelineMax int `yaml:"timeline_max"`
	// SilentAfter is how long a contact may go without activity before it
	// turns silent (and win-back scripts start); default 720h.
	SilentAfter time.Duration `yaml:"silent_after"`
	// SweepEvery is how often the silence, decay and hand-off queue sweeps
	// run; default 1m.
	SweepEvery time.Duration `yaml:"sweep_every"`
}

type WeCom struct {
	CorpID  string `yaml:"corp_id"`
	AgentID string `yaml:"agent_id"`
	Secret  string `yaml:"secret"`
	Token   string `yaml:"token"`
	AESKey  string `yaml:"aes_key"`
	APIBase string `yaml:"api_base"`
	// WelcomeTemplate is sent, with the callback's welcome code, to every
	// customer who adds a rep, and to every 微信客服 customer who enters a
	// session; empty sends none.
	WelcomeTemplate string `yaml:"welcome_template"`
	// TagIDs maps our tag names to WeCom tag ids (企业客户标签, created in the
	// admin console); tag changes on those are mirrored onto the customer.
	TagIDs map[string]string `yaml:"tag_ids"`
	// HandoffReps are the reps, in turn, who take hot leads and hand-offs
	// of contacts that have no owner: bare WeCom userids, or with working
	// hours and a daily limit (see HandoffRep).
	HandoffReps []HandoffRep `yaml:"handoff_reps"`
	// HandoffSLA is how long a rep has to follow a lead up before a
	// reminder; after twice as long HandoffLead (a WeCom userid) is told.
	HandoffSLA  time.Duration `yaml:"handoff_sla"`
	HandoffLead string        `yaml:"handoff_lead"`
}

// CallbacksEnabled reports whether the callback route can verify requests.
func (w WeCom) CallbacksEnabled() bool { return w.Token != "" || w.AESKey != "" }

type WeChat struct {
	AppID     string `yaml:"app_id"`
	AppSecret string `yaml:"app_secret"`
	Token     string `yaml:"token"`
	AESKey    string `yaml:"aes_key"`
	APIBase   string `yaml:"api_base"`
}

// CallbacksEnabled reports whether the callback route can verify requests.
func (w WeChat) CallbacksEnabled() bool { return w.Token != "" }

type Aliyun struct {
	AccessKeyID     string `yaml:"access_key_id"`
	AccessKeySecret string `yaml:"access_key_secret"`
	SMSSignName     string `yaml:"sms_sign_name"`
	SMSEndpoint     string `yaml:"sms_endpoint"`
	// CallbackToken, when set, must arrive as ?token= on the SMS push URLs;
	// Aliyun's HTTP push carries no signature of its own.
	CallbackToken string `yaml:"callback_token"`
}

type SMTP struct {
	Addr     string `yaml:"addr"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	From     string `yaml:"from"`
}

type Email struct {
	// WebhookToken authenticates /callbacks/email/bounce (Bearer or ?token=).
	WebhookToken string `yaml:"webhook_token"`
}

type Outreach struct {
	// Workers is how many messages this process sends at once.
	Workers int `yaml:"workers"`
	// PollInterval is how long idle workers wait before looking for new
	// tasks again: shorter picks work up sooner, at the price of more
	// polling of Redis by every gateway.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MaxRetry bounds retries of a transient failure (with back-off).
	MaxRetry   int          `yaml:"max_retry"`
	Caps       []Cap        `yaml:"caps"`
	QuietHours []QuietHours `yaml:"quiet_hours"`
	// CouponRemindBefore is the default of a coupon batch's remind_before:
	// how long before expiry each issued, unredeemed code is reminded of
	// (with the batch's remind_template). 0 switches the default off.
	CouponRemindBefore time.Duration `yaml:"coupon_remind_before"`
}

// Cap is one frequency-cap rule; see CONTRACT.md for the shape.
type Cap struct {
	Name    string        `yaml:"name"`
	Purpose string        `yaml:"purpose"`
	Channel string        `yaml:"channel"`
	Max     int           `yaml:"max"`
	Window  time.Duration `yaml:"window"`
	// Optional scopes: only contacts with this tag; only this campaign ("*"
	// counts each campaign on its own); only this outbound kind.
	Tag      string `yaml:"tag,omitempty"`
	Campaign string `yaml:"campaign,omitempty"`
	Kind     string `yaml:"kind,omitempty"`
}

type QuietHours struct {
	Channels []string `yaml:"channels"`
	Start    string   `yaml:"start"`
	End      string   `yaml:"end"`
	Timezone string   `yaml:"timezone"`
}

type Dialogs struct {
	Dir string `yaml:"dir"`
	// ScoringFile holds the lead-scoring rules (points per event type and
	// the bands that make a contact mql or sql).
	ScoringFile string `yaml:"scoring_file"`
}

type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Default is the configuration before any file or variable is read.
func Default() Config {
	return Config{
		HTTP: HTTP{
			Addr:            "127.0.0.1:8080",
			BodyLimit:       1 << 20,
			ReadTimeout:     10 * time.Second,
			WriteTimeout:    15 * time.Second,
			ShutdownTimeout: 15 * time.Second,
		},
		Redis:     Redis{URL: "redis://127.0.0.1:6379/0"},
		Public:    Public{BaseURL: "http://127.0.0.1:8080"},
		Callbacks: Callbacks{MaxSkew: 5 * time.Minute, DedupTTL: 72 * time.Hour},
		Contacts:  Contacts{TimelineMax: 200, SilentAfter: 720 * time.Hour, SweepEvery: time.Minute},
		Outreach:  Outreach{Workers: 10, PollInterval: time.Second, MaxRetry: 8, CouponRemindBefore: 72 * time.Hour},
		Dialogs:   Dialogs{Dir: "configs/dialogs", ScoringFile: "configs/scoring.yaml"},
		Log:       Log{Level: "info", Format: "json"},
		Transfer:  Transfer{UploadLimit: 20 << 20, Retention: 7 * 24 * time.Hour, Workers: 8},
		Reports:   Reports{Timezone: "Asia/Shanghai", Currency: "CNY"},
	}
}
