package officialaccount

import "testing"

func BenchmarkDecode(b *testing.B) {
	c := newTestCallback(b, testAESKey)
	plain := []byte(msgHead + `<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[我想了解价格，请联系我]]></Content><MsgId>24037693947853543</MsgId></xml>`)
	b.Run("safe", func(b *testing.B) {
		body, q, err := c.Seal(plain, testTS, testNonce)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Decode(q, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		q := plainQuery(testToken, testTS, testNonce)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Decode(q, plain); err != nil {
				b.Fatal(err)
			}
		}
	})
}
