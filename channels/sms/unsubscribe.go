package sms

import (
	"strings"
	"unicode"
)

// unsubscribeWords are the replies that withdraw SMS consent. Carriers and
// Aliyun teach customers TD (退订), T and N; the English word covers foreign
// numbers. Only a whole reply counts, so "TD是什么" or "No thanks" do not.
var unsubscribeWords = map[string]bool{"td": true, "t": true, "n": true, "退订": true, "unsubscribe": true}

// IsUnsubscribe reports whether an SMS reply asks to stop marketing messages.
// Customers type these words with full-width letters, stray punctuation and
// emoji, so those are folded or trimmed before the comparison.
func IsUnsubscribe(text string) bool {
	if len(text) > 64 {
		return false
	}
	var b strings.Builder
	for _, r := range text {
		b.WriteRune(unicode.ToLower(foldWidth(r)))
	}
	word := strings.TrimFunc(b.String(), isNoise)
	return unsubscribeWords[word]
}

// isNoise matches what may surround the word: spaces, punctuation (。！【】),
// symbols and emoji, and invisible format characters such as zero-width spaces.
func isNoise(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) ||
		unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Mn, r)
}

// foldWidth maps full-width ASCII (U+FF01-U+FF5E) and the ideographic space
// to their ASCII forms.
func foldWidth(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	}
	return r
}
