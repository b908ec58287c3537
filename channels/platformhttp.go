package channels

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Hosts the WeChat SDK hard-codes.
const (
	WeComAPIHost  = "qyapi.weixin.qq.com"
	WeChatAPIHost = "api.weixin.qq.com"
)

// NewPlatformClient is the HTTP client the platform SDKs get (the WeChat SDK
// reads it from util.DefaultHTTPClient). Its default, http.DefaultClient, has
// no timeout at all, and many SDK calls take no context, so a hung platform
// would hang a worker forever. rewrites maps a hard-coded host to a base URL
// (the sandbox, a test server or an egress proxy); an empty base leaves the
// host alone.
func NewPlatformClient(timeout time.Duration, rewrites map[string]string) (*http.Client, error) {
	bases := map[string]*url.URL{}
	for host, base := range rewrites {
		if base == "" {
			continue
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("API base %q for %s must be an http(s) URL such as http://127.0.0.1:9001", base, host)
		}
		u.Path = strings.TrimRight(u.Path, "/")
		bases[host] = u
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	var rt http.RoundTripper = transport
	if len(bases) > 0 {
		rt = rewriter{bases: bases, next: transport}
	}
	return &http.Client{Transport: rt, Timeout: timeout}, nil
}

type rewriter struct {
	bases map[string]*url.URL
	next  http.RoundTripper
}

func (r rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	base, ok := r.bases[req.URL.Host]
	if !ok {
		return r.next.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host, u.Path = base.Scheme, base.Host, base.Path+req.URL.Path
	if req.URL.RawPath != "" {
		u.RawPath = base.Path + req.URL.RawPath
	}
	out.URL, out.Host = &u, base.Host
	return r.next.RoundTrip(out)
}
