package accesstoken

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
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
	return func(ctx context.Context) (string, time.Duration, error) { return get(ctx, uri, "official account token") }
}

func get(ctx context.Context, uri, what string) (string, time.Duration, error) {
	body, err := util.HTTPGetContext(ctx, uri)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", what, err)
	}
	var a tokenAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return "", 0, fmt.Errorf("%s: answer is not JSON: %w", what, err)
	}
	if a.ErrCode != 0 {
		return "", 0, fmt.Errorf("%s: errcode %d: %s (check the id and secret)", what, a.ErrCode, a.ErrMsg)
	}
	return a.AccessToken, time.Duration(a.ExpiresIn) * time.Second, nil
}
