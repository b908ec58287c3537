package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
)

// Demo credentials used when the environment leaves them empty, so the
// sandbox runs on its own; the gateway must then use the same values.
var demoEnv = map[string]string{
	"WECOM_CORP_ID": "ww_sandbox_corp", "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "sandbox-wecom-secret",
	"WECOM_TOKEN": "sandboxtoken", "WECOM_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
	"WECHAT_APP_ID": "wx_sandbox_app", "WECHAT_APP_SECRET": "sandbox-wechat-secret", "WECHAT_TOKEN": "sandboxtoken",
	"ALIYUN_ACCESS_KEY_ID": "LTAI_sandbox_key", "ALIYUN_ACCESS_KEY_SECRET": "sandbox-aliyun-secret",
	"ALIYUN_SMS_SIGN_NAME":  "旅程网关",
	"SANDBOX_SMS_TEMPLATES": "SMS_123456:name;SMS_654321:code;SMS_200001:name,date",
}

type listenAddrs struct {
	UI, WeCom, WeChat, SMS, SMTP string
}

// parseTemplates reads SANDBOX_SMS_TEMPLATES: "SMS_123456:name,date;SMS_654321:code".
func parseTemplates(spec string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, item := range strings.Split(spec, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		code, params, _ := strings.Cut(item, ":")
		code = strings.TrimSpace(code)
		if code == "" || strings.ContainsAny(code, " ,") {
			return nil, fmt.Errorf("%w: SANDBOX_SMS_TEMPLATES item %q needs a template code before the colon", ErrConfig, item)
		}
		if _, dup := out[code]; dup {
			return nil, fmt.Errorf("%w: SANDBOX_SMS_TEMPLATES lists %s twice", ErrConfig, code)
		}
		names := []string{}
		for _, p := range strings.Split(params, ",") {
			if p = strings.TrimSpace(p); p != "" {
				names = append(names, p)
			}
		}
		out[code] = names
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: SANDBOX_SMS_TEMPLATES has no template; write it like \"SMS_123456:name,date;SMS_654321:code\"", ErrConfig)
	}
	return out, nil
}

// parseConfig reads flags, falling back to environment variables, then to defaults.
func parseConfig(args []string, getenv func(string) string) (config, listenAddrs, error) {
	env := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return demoEnv[name]
	}
	envOr := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	var a listenAddrs
	fs.StringVar(&a.UI, "ui", envOr("SANDBOX_UI_ADDR", "127.0.0.1:9000"), "page and control API address (env SANDBOX_UI_ADDR)")
	fs.StringVar(&a.WeCom, "wecom", envOr("SANDBOX_WECOM_ADDR", "127.0.0.1:9001"), "WeCom API address (env SANDBOX_WECOM_ADDR)")
	fs.StringVar(&a.WeChat, "wechat", envOr("SANDBOX_WECHAT_ADDR", "127.0.0.1:9002"), "WeChat official-account API address (env SANDBOX_WECHAT_ADDR)")
	fs.StringVar(&a.SMS, "sms", envOr("SANDBOX_SMS_ADDR", "127.0.0.1:9003"), "Aliyun SMS API address (env SANDBOX_SMS_ADDR)")
	fs.StringVar(&a.SMTP, "smtp", envOr("SANDBOX_SMTP_ADDR", "127.0.0.1:2525"), "SMTP address (env SANDBOX_SMTP_ADDR)")
	gateway := fs.String("gateway", envOr("SANDBOX_GATEWAY_URL", "http://127.0.0.1:8080"), "gateway base URL for callbacks (env SANDBOX_GATEWAY_URL)")
	delay := fs.Duration("report-delay", 500*time.Millisecond, "wait before pushing SMS reports (env SANDBOX_REPORT_DELAY)")
	keep := fs.Int("keep", 10000, "received messages kept per channel (env SANDBOX_KEEP)")
	perMinute := fs.Int("sms-per-minute", 5, "SMS per number per minute before isv.BUSINESS_LIMIT_CONTROL (env SANDBOX_SMS_PER_MINUTE)")
	if v := getenv("SANDBOX_REPORT_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return config{}, a, fmt.Errorf("%w: SANDBOX_REPORT_DELAY %q is not a duration like 500ms", ErrConfig, v)
		}
		*delay = d
	}
	for name, p := range map[string]*int{"SANDBOX_KEEP": keep, "SANDBOX_SMS_PER_MINUTE": perMinute} {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return config{}, a, fmt.Errorf("%w: %s %q is not a positive integer", ErrConfig, name, v)
			}
			*p = n
		}
	}
	if err := fs.Parse(args); err != nil {
		return config{}, a, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	templates, err := parseTemplates(env("SANDBOX_SMS_TEMPLATES"))
	if err != nil {
		return config{}, a, err
	}
	cfg := config{
		GatewayURL:  strings.TrimRight(*gateway, "/"),
		WeComCorpID: env("WECOM_CORP_ID"), WeComAgentID: env("WECOM_AGENT_ID"), WeComSecret: env("WECOM_SECRET"),
		WeComToken: env("WECOM_TOKEN"), WeComAESKey: env("WECOM_AES_KEY"),
		WeChatAppID: env("WECHAT_APP_ID"), WeChatAppSecret: env("WECHAT_APP_SECRET"), WeChatToken: env("WECHAT_TOKEN"),
		WeChatAESKey:      getenv("WECHAT_AES_KEY"), // empty means plain mode, so no demo default
		AliyunAccessKeyID: env("ALIYUN_ACCESS_KEY_ID"), AliyunAccessKeySecret: env("ALIYUN_ACCESS_KEY_SECRET"),
		AliyunSignName: env("ALIYUN_SMS_SIGN_NAME"), SMSTemplates: templates, SMSPerMinute: *perMinute,
		SMTPUsername: getenv("SANDBOX_SMTP_USERNAME"), SMTPPassword: getenv("SANDBOX_SMTP_PASSWORD"),
		ReportDelay: *delay, Keep: *keep,
	}
	return cfg, a, nil
}

func main() {
	if err := run(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string) error {
	cfg, addrs, err := parseConfig(args, getenv)
	if err != nil {
		return err
	}
	sb, err := newSandbox(cfg)
	if err != nil {
		return err
	}
	defer sb.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	errc := make(chan error, 5)
	var servers []*http.Server
	for _, l := range []struct {
		name, addr string
		h          http.Handler
	}{{"ui", addrs.UI, sb.uiHandler()}, {"wecom", addrs.WeCom, sb.wecomHandler()},
		{"wechat", addrs.WeChat, sb.wechatHandler()}, {"sms", addrs.SMS, sb.smsHandler()}} {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return fmt.Errorf("%w: -%s %s: %v", ErrConfig, l.name, l.addr, err)
		}
		srv := &http.Server{Handler: l.h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s listener: %w", l.name, err)
			}
		}()
		log.Printf("%s listening on http://%s", l.name, ln.Addr())
	}
	smtpSrv := sb.smtpServer(addrs.SMTP)
	ln, err := net.Listen("tcp", addrs.SMTP)
	if err != nil {
		return fmt.Errorf("%w: -smtp %s: %v", ErrConfig, addrs.SMTP, err)
	}
	go func() {
		if err := smtpSrv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			errc <- fmt.Errorf("smtp listener: %w", err)
		}
	}()
	mode := "safe mode (AES)"
	if cfg.WeChatAESKey == "" {
		mode = "plain mode (no WECHAT_AES_KEY)"
	}
	log.Printf("smtp listening on %s; callbacks go to %s; official account in %s", ln.Addr(), cfg.GatewayURL, mode)

	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdown)
	}
	_ = smtpSrv.Close()
	return err
}
