package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// ACS3-HMAC-SHA256, Alibaba Cloud's V3 request signature, implemented from
// its specification:
//
//	CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n
//	                   CanonicalHeaders \n SignedHeaders \n HashedRequestPayload
//	StringToSign     = "ACS3-HMAC-SHA256" \n hex(sha256(CanonicalRequest))
//	Signature        = hex(hmac-sha256(AccessKeySecret, StringToSign))
//	Authorization    = ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=<h1;h2>,Signature=<sig>
//
// Query keys and values are RFC 3986 encoded and sorted; canonical headers are
// the lower-cased signed headers with trimmed values, sorted by name.

const (
	acs3Algorithm = "ACS3-HMAC-SHA256"
	acsDateFormat = "2006-01-02T15:04:05Z"
	acsClockSkew  = 15 * time.Minute
)

type acs3Auth struct {
	Algorithm     string
	AccessKeyID   string
	SignedHeaders []string
	Signature     string
}

// parseACS3Authorization splits an Authorization header; it is outside input.
func parseACS3Authorization(h string) (acs3Auth, error) {
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg == "" {
		return acs3Auth{}, fmt.Errorf("%w: Authorization has no algorithm and credential parts", ErrSignature)
	}
	a := acs3Auth{Algorithm: alg}
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return acs3Auth{}, fmt.Errorf("%w: Authorization part %q is not key=value", ErrSignature, part)
		}
		if seen[k] {
			return acs3Auth{}, fmt.Errorf("%w: Authorization repeats %s", ErrSignature, k)
		}
		seen[k] = true
		switch k {
		case "Credential":
			a.AccessKeyID = v
		case "SignedHeaders":
			for _, name := range strings.Split(v, ";") {
				if name != "" {
					a.SignedHeaders = append(a.SignedHeaders, name)
				}
			}
		case "Signature":
			a.Signature = v
		default:
			return acs3Auth{}, fmt.Errorf("%w: Authorization has unknown part %q", ErrSignature, k)
		}
	}
	if a.AccessKeyID == "" || a.Signature == "" || len(a.SignedHeaders) == 0 {
		return acs3Auth{}, fmt.Errorf("%w: Authorization needs Credential, SignedHeaders and Signature", ErrSignature)
	}
	for i, name := range a.SignedHeaders {
		if name != strings.ToLower(name) || (i > 0 && a.SignedHeaders[i-1] >= name) {
			return acs3Auth{}, fmt.Errorf("%w: SignedHeaders must be lower case, sorted and unique", ErrSignature)
		}
	}
	return a, nil
}

// rfc3986 percent-encodes everything but the unreserved characters.
func rfc3986(s string) string {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
	return b.String()
}

func canonicalQuery(q url.Values) string {
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, kv{rfc3986(k), rfc3986(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

func canonicalURI(r *http.Request) string {
	segs := strings.Split(r.URL.Path, "/")
	for i, s := range segs {
		segs[i] = rfc3986(s)
	}
	if p := strings.Join(segs, "/"); p != "" {
		return p
	}
	return "/"
}

// headerValue is a signed header's canonical value; Go moves Host out of the header map.
func headerValue(r *http.Request, name string) string {
	if name == "host" {
		return strings.TrimSpace(r.Host)
	}
	vals := r.Header.Values(name)
	trimmed := make([]string, len(vals))
	for i, v := range vals {
		trimmed[i] = strings.TrimSpace(v)
	}
	sort.Strings(trimmed)
	return strings.Join(trimmed, ",")
}

// acs3StringToSign builds the canonical request and the string to sign for r.
func acs3StringToSign(r *http.Request, signedHeaders []string, payloadHash string) (canonical, toSign string) {
	var h strings.Builder
	for _, name := range signedHeaders {
		h.WriteString(name + ":" + headerValue(r, name) + "\n")
	}
	canonical = strings.Join([]string{r.Method, canonicalURI(r), canonicalQuery(r.URL.Query()),
		h.String(), strings.Join(signedHeaders, ";"), payloadHash}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	return canonical, acs3Algorithm + "\n" + hex.EncodeToString(sum[:])
}

func acs3Sign(secret, stringToSign string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return hex.EncodeToString(m.Sum(nil))
}

// acsError is an Alibaba Cloud gateway error: HTTP status plus Code and Message.
type acsError struct {
	Status  int
	Code    string
	Message string
}

// verifyACS3 checks r the way the Alibaba Cloud API gateway does and returns
// the error it would answer, or nil.
func (s *sandbox) verifyACS3(r *http.Request, body []byte) *acsError {
	auth, err := parseACS3Authorization(r.Header.Get("Authorization"))
	if err != nil {
		return &acsError{400, "IncompleteSignature", "The request signature does not conform to Aliyun standards. " + err.Error()}
	}
	if auth.Algorithm != acs3Algorithm {
		return &acsError{400, "IncompleteSignature", "The sandbox verifies " + acs3Algorithm + " only; got " + auth.Algorithm}
	}
	if auth.AccessKeyID != s.cfg.AliyunAccessKeyID {
		return &acsError{404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."}
	}
	signed := map[string]bool{}
	for _, h := range auth.SignedHeaders {
		signed[h] = true
	}
	var unsigned []string
	for name := range r.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-acs-") && !signed[l] {
			unsigned = append(unsigned, l)
		}
	}
	if !signed["host"] {
		unsigned = append(unsigned, "host")
	}
	if len(unsigned) > 0 {
		sort.Strings(unsigned)
		return &acsError{400, "IncompleteSignature", "SignedHeaders must include host and every x-acs- header; missing " + strings.Join(unsigned, ";")}
	}
	date, err := time.Parse(acsDateFormat, r.Header.Get("x-acs-date"))
	if err != nil {
		return &acsError{400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."}
	}
	now := s.now()
	if d := now.Sub(date); d > acsClockSkew || d < -acsClockSkew {
		return &acsError{400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."}
	}
	nonce := r.Header.Get("x-acs-signature-nonce")
	if nonce == "" {
		return &acsError{400, "MissingSignatureNonce", "SignatureNonce is mandatory for this action."}
	}
	bodySum := sha256.Sum256(body)
	payloadHash := r.Header.Get("x-acs-content-sha256")
	if payloadHash != hex.EncodeToString(bodySum[:]) {
		return &acsError{400, "SignatureDoesNotMatch", "x-acs-content-sha256 is not the hex SHA-256 of the request body."}
	}
	canonical, toSign := acs3StringToSign(r, auth.SignedHeaders, payloadHash)
	if !hmac.Equal([]byte(auth.Signature), []byte(acs3Sign(s.cfg.AliyunAccessKeySecret, toSign))) {
		return &acsError{400, "SignatureDoesNotMatch", "Specified signature does not match our calculation. The canonical request is: " +
			strings.ReplaceAll(canonical, "\n", "\\n")}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, used := s.state.nonces[nonce]; used {
		return &acsError{400, "SignatureNonceUsed", "Specified signature nonce was used already."}
	}
	for n, t := range s.state.nonces {
		if now.Sub(t) > acsClockSkew {
			delete(s.state.nonces, n)
		}
	}
	pruneOldest(s.state.nonces, maxEntries)
	s.state.nonces[nonce] = now
	return nil
}
