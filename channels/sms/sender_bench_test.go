package sms

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkSend measures whole sends over loopback HTTP. The stand-in here
// answers without verifying, so the figures are the sender's and the SDK's
// (signing, encoding, HTTP, decoding) plus a bare net/http handler; allocs
// count both sides of the connection.
func BenchmarkSend(b *testing.B) {
	const okBody = `{"Message":"OK","RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990","Code":"OK","BizId":"9006197469364984^0"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		_, _ = w.Write([]byte(okBody))
	}))
	defer srv.Close()
	s, err := NewSender(SenderConfig{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret, SignName: testSignName,
		Endpoint: strings.TrimPrefix(srv.URL, "http://"), Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	m := smsMessage("+8613800138000")
	ctx := context.Background()

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Send(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sends/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Send(ctx, m); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sends/s")
	})
}
