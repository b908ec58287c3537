package accesstoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// tokenAnswer is what both platforms answer to a token request.
type tokenAnswer struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// WeComFetcher asks WeCom's gettoken for an app's token. It goes through the
// SDK's HTTP helpers, so util.DefaultHTTPClient's timeouts and host rewrites apply.
func WeComFetcher(corpID, secret string) Fetcher {
	uri := "https://qyapi.weixin.qq.com/cgi-bin/gettoken?" + url.Values{"corpid": {corpID}, "corpsecret": {secret}}.Encode()
	return func(ctx context.Context) (string, time.Duration, error) { return get(ctx, uri, "WeCom gettoken") }
}

// OfficialAccountFetcher asks the official-account API for a token.
func OfficialAccountFetcher(appID, secret string) Fetcher {
	uri := "https://api.weixin.qq.com/cgi-bin/token?" + url.Values{"grant_type": {"client_credential"}, "appid": {appID}, "secret": {secret}}.Encode()
	return func(ctx context.Context) (string, time.Duration, error) {
		return get(ctx, uri, "official account token")
	}
}

// ErrCredentials means the platform refused the app id or secret: retrying
// will not help until an operator fixes the configuration.
var ErrCredentials = errors.New("the platform refused the app credentials")

// get fetches a token. Its errors never quote the URL, which carries the secret.
func get(ctx context.Context, uri, what string) (string, time.Duration, error) {
	body, err := util.HTTPGetContext(ctx, uri)
	if err != nil {
		return "", 0, fmt.Errorf("%s: request failed: %s", what, redact(err.Error(), uri))
	}
	var a tokenAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return "", 0, fmt.Errorf("%s: answer is not JSON: %w", what, err)
	}
	switch a.ErrCode {
	case 0:
	case 40001, 40013, 40125, 40164, 41002, 41004:
		// invalid secret, corp or app id, IP not on the allow-list: operator action needed
		return "", 0, fmt.Errorf("%s: errcode %d: %s: %w (check the id, secret and IP allow-list)", what, a.ErrCode, a.ErrMsg, ErrCredentials)
	default:
		return "", 0, fmt.Errorf("%s: errcode %d: %s", what, a.ErrCode, a.ErrMsg)
	}
	return a.AccessToken, time.Duration(a.ExpiresIn) * time.Second, nil
}

// redact removes the request URL (and with it the secret) from an error text.
func redact(msg, uri string) string {
	msg = strings.ReplaceAll(msg, uri, "<token URL>")
	if i := strings.Index(msg, "secret="); i >= 0 {
		end := strings.IndexAny(msg[i:], "&\" ")
		if end < 0 {
			end = len(msg) - i
		}
		msg = msg[:i] + "secret=REDACTED" + msg[i+end:]
	}
	return msg
}
