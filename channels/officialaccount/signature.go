package officialaccount

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"io"
)

// signature computes WeChat's callback signature, hex(sha1(sorted parts
// joined)), into dst. It matches util.Signature but sorts in place and skips
// fmt, because it runs on every callback.
func signature(dst *[2 * sha1.Size]byte, parts ...string) {
	for i := 1; i < len(parts); i++ {
		for j := i; j > 0 && parts[j] < parts[j-1]; j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
	h := sha1.New()
	for _, p := range parts {
		_, _ = io.WriteString(h, p)
	}
	var sum [sha1.Size]byte
	hex.Encode(dst[:], h.Sum(sum[:0]))
}

// signatureMatches compares in constant time, so response timing tells a
// forger nothing about how much of a guessed signature was right.
func signatureMatches(got string, parts ...string) bool {
	var want [2 * sha1.Size]byte
	signature(&want, parts...)
	return subtle.ConstantTimeCompare(want[:], []byte(got)) == 1
}

func signatureString(parts ...string) string {
	var s [2 * sha1.Size]byte
	signature(&s, parts...)
	return string(s[:])
}
