package templates

import (
	"testing"

	"github.com/journeygate/gateway/channels"
)

// BenchmarkRender renders the sample template per channel from the parse
// cache, as a worker sending messages does.
func BenchmarkRender(b *testing.B) {
	r := newRenderer(b, RenderOptions{})
	tmpl := sample()
	tmpl.Version = 1
	vars := sampleVars()
	for _, ch := range tmpl.ChannelOrder() {
		b.Run(string(ch), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Render(tmpl, ch, vars); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("uncached", func(b *testing.B) {
		draft := sample() // version 0: a preview of unsaved text parses every time
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Render(draft, channels.Email, vars); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkValidate is the cost Save adds before its one round trip.
func BenchmarkValidate(b *testing.B) {
	tmpl := sample()
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate(tmpl); err != nil {
			b.Fatal(err)
		}
	}
}
