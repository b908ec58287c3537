package gateway

import (
	"os"
	"testing"
	"time"

	"github.com/journeygate/gateway/channels/wecom"
	"github.com/journeygate/gateway/internal/redistest"
)

func BenchmarkScratch(b *testing.B) {
	now := time.Now()
	cb, _ := wecom.NewCallback(wecom.CallbackConfig{Token: vecToken, EncodingAESKey: vecAESKey, CorpID: vecCorpID, Now: func() time.Time { return now }})
	reqs := sealedCallbacks(b, cb, now, 40000)
	rdb := redistest.Client(b)
	var url string
	if os.Getenv("MODE") == "base" {
		url = httpServe(b, baselineHandler(rdb))
	} else {
		url = httpServe(b, realRoute(b, rdb, cb, now))
	}
	drive(b, url, reqs[:5000], 64)
	b.ResetTimer()
	r := drive(b, url, reqs[5000:], 64)
	b.ReportMetric(r.rps, "req/s")
	b.ReportMetric(float64(r.p99.Microseconds())/1000, "p99-ms")
	info := rdb.Info(b.Context(), "commandstats").Val()
	b.Log(info)
}
