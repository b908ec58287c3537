package gateway

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/util"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/journeygate/gateway/channels/email"
	"github.com/journeygate/gateway/channels/wecom"
	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/internal/redistest"
)

// BenchmarkWeComCallbacks drives signed, encrypted WeCom callbacks with
// distinct event ids over loopback HTTP at 64 connections, alternating
// rounds between the minimal baseline handler and the real route so both see
// the same machine noise. It reports each side's median throughput and p99
// and their ratio. The ratios are medians of per-round ratios: each round
// pairs the two sides back to back, so load that drifts between rounds
// cancels out. Run it with -benchtime=1x (make bench does).
func BenchmarkWeComCallbacks(b *testing.B) {
	const (
		conns    = 64
		perRound = 12000
		rounds   = 5
	)
	gin.SetMode(gin.ReleaseMode)
	now := time.Now()
	cb, err := wecom.NewCallback(wecom.CallbackConfig{Token: vecToken, EncodingAESKey: vecAESKey, CorpID: vecCorpID, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	reqs := sealedCallbacks(b, cb, now, rounds*perRound*2)

	baseRedis := redistest.Client(b)
	routeRedis := redistest.Client(b)
	base := httpServe(b, baselineHandler(baseRedis))
	route := httpServe(b, realRoute(b, routeRedis, cb, now))

	var baseRuns, routeRuns []loadResult
	next := 0
	for r := 0; r < rounds; r++ {
		baseRuns = append(baseRuns, drive(b, base, reqs[next:next+perRound], conns))
		next += perRound
		routeRuns = append(routeRuns, drive(b, route, reqs[next:next+perRound], conns))
		next += perRound
	}
	bm, rm := median(baseRuns), median(routeRuns)
	rpsRatios := make([]float64, rounds)
	p99Ratios := make([]float64, rounds)
	for i := range rounds {
		rpsRatios[i] = routeRuns[i].rps / baseRuns[i].rps
		p99Ratios[i] = float64(routeRuns[i].p99) / float64(baseRuns[i].p99)
	}
	slices.Sort(rpsRatios)
	slices.Sort(p99Ratios)
	b.ReportMetric(bm.rps, "baseline-req/s")
	b.ReportMetric(rm.rps, "route-req/s")
	b.ReportMetric(rpsRatios[rounds/2], "throughput-ratio")
	b.ReportMetric(float64(bm.p99.Microseconds())/1000, "baseline-p99-ms")
	b.ReportMetric(float64(rm.p99.Microseconds())/1000, "route-p99-ms")
	b.ReportMetric(p99Ratios[rounds/2], "p99-ratio")
	if n := routeRedis.Exists(context.Background(), "{inbox}:events").Val(); n != 0 {
		b.Fatalf("contact events went to the inbox")
	}
}

type sealedRequest struct {
	target string
	body   []byte
}

// sealedCallbacks builds n distinct add/edit contact events, sealed as WeCom
// would, before any timing starts.
func sealedCallbacks(b *testing.B, cb *wecom.Callback, now time.Time, n int) []sealedRequest {
	out := make([]sealedRequest, n)
	ts := strconv.FormatInt(now.Unix(), 10)
	for i := range out {
		change := "edit_external_contact"
		if i%4 == 0 {
			change = "add_external_contact"
		}
		plain := fmt.Sprintf(`<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[%s]]></ChangeType><UserID><![CDATA[rep%d]]></UserID><ExternalUserID><![CDATA[wmBench%06d]]></ExternalUserID><State><![CDATA[bench]]></State></xml>`,
			vecCorpID, now.Unix()-int64(i/5000), change, i%20, i%5000)
		nonce := "n" + strconv.Itoa(i)
		body, sig, err := cb.Seal([]byte(plain), ts, nonce)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = sealedRequest{target: "/callbacks/wecom?" + url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}.Encode(), body: body}
	}
	return out
}

// realRoute is the production handler: real middleware, logging to a
// discarding JSON encoder, metrics, the contact store.
func realRoute(b *testing.B, rdb *redis.Client, cb *wecom.Callback, now time.Time) http.Handler {
	cfg := configs.Default()
	cfg.Admin.Token = adminToken
	store, err := contacts.NewStore(rdb, contacts.Options{})
	if err != nil {
		b.Fatal(err)
	}
	tokens, err := email.NewTokens([]byte("bench-tracking-secret-000"), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel))
	srv, err := New(Deps{Config: cfg, Log: log, Redis: rdb, Contacts: store, WeCom: cb, Tokens: tokens, Registry: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	return srv.Handler()
}

// baselineHandler is the floor any real route pays: verify the signature,
// decrypt, parse envelope and message with encoding/xml, and write one
// pipeline of four commands. No logging, metrics or contact logic.
func baselineHandler(rdb *redis.Client) http.Handler {
	type envelope struct {
		Encrypt string `xml:"Encrypt"`
	}
	type message struct {
		CreateTime     int64  `xml:"CreateTime"`
		Event          string `xml:"Event"`
		ChangeType     string `xml:"ChangeType"`
		UserID         string `xml:"UserID"`
		ExternalUserID string `xml:"ExternalUserID"`
	}
	r := gin.New()
	r.POST("/callbacks/wecom", func(c *gin.Context) {
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			c.Status(400)
			return
		}
		var env envelope
		if err := xml.Unmarshal(body, &env); err != nil {
			c.Status(400)
			return
		}
		sig := util.Signature(vecToken, c.Query("timestamp"), c.Query("nonce"), env.Encrypt)
		if subtle.ConstantTimeCompare([]byte(sig), []byte(c.Query("msg_signature"))) != 1 {
			c.Status(401)
			return
		}
		_, plain, err := util.DecryptMsg(vecCorpID, env.Encrypt, vecAESKey)
		if err != nil {
			c.Status(400)
			return
		}
		var m message
		if err := xml.Unmarshal(plain, &m); err != nil {
			c.Status(400)
			return
		}
		id := m.ExternalUserID
		_, err = rdb.Pipelined(c.Request.Context(), func(p redis.Pipeliner) error {
			p.SetNX(c.Request.Context(), "seen:"+m.ChangeType+id+strconv.FormatInt(m.CreateTime, 10), 1, 72*time.Hour)
			p.HSet(c.Request.Context(), "c:"+id, "owner", m.UserID, "last_seen", m.CreateTime)
			p.LPush(c.Request.Context(), "tl:"+id, m.Event)
			p.LTrim(c.Request.Context(), "tl:"+id, 0, 199)
			return nil
		})
		if err != nil {
			c.Status(500)
			return
		}
		c.String(200, "success")
	})
	return r
}

func httpServe(b *testing.B, h http.Handler) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

type loadResult struct {
	rps float64
	p99 time.Duration
}

func drive(b *testing.B, base string, reqs []sealedRequest, conns int) loadResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	lat := make([]time.Duration, len(reqs))
	var next atomic.Int64
	var failures atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				t0 := time.Now()
				resp, err := client.Post(base+reqs[i].target, "text/xml", bytes.NewReader(reqs[i].body))
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d of %d requests to %s failed", f, len(reqs), base)
	}
	slices.Sort(lat)
	return loadResult{rps: float64(len(reqs)) / elapsed.Seconds(), p99: lat[len(lat)*99/100]}
}

func median(runs []loadResult) loadResult {
	rps := make([]float64, len(runs))
	p99 := make([]time.Duration, len(runs))
	for i, r := range runs {
		rps[i], p99[i] = r.rps, r.p99
	}
	slices.Sort(rps)
	slices.Sort(p99)
	return loadResult{rps: rps[len(rps)/2], p99: p99[len(p99)/2]}
}
