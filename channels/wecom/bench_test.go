package wecom

import (
	"testing"
)

// BenchmarkDecode measures the whole hot path of one callback: envelope scan,
// signature, timestamp, decrypt, inner parse and mapping.
func BenchmarkDecode(b *testing.B) {
	c := newTestCallback(b)
	for _, name := range []string{"contact added", "text message"} {
		var plain string
		for _, s := range samples() {
			if s.name == name {
				plain = s.plain
			}
		}
		body, sig := seal(b, c, plain)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := c.Decode(sig, testTS, testNonce, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	body, sig := seal(b, c, samples()[0].plain)
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Decode(sig, testTS, testNonce, body); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
