package sms

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test credentials the stand-in knows.
const (
	testKeyID     = "LTAI5tTestKeyId"
	testKeySecret = "TestKeySecret0123456789"
	testSignName  = "旅程网关"
)

// aliyunStandIn answers SendSms the way dysmsapi.aliyuncs.com does, after
// checking each request as Aliyun's API gateway does: the ACS3-HMAC-SHA256
// signature, the signed headers, the timestamp window and nonce reuse. Its
// verifier is written from Aliyun's published signature spec and shares no
// code with the SDK, so it catches a request the real service would refuse.
type aliyunStandIn struct {
	srv     *httptest.Server
	secrets map[string]string
	now     func() time.Time
	// tamper, when set, changes a request after the client signed it.
	tamper func(*http.Request)
	// answer writes the reply once a request passed the checks.
	answer http.HandlerFunc

	mu     sync.Mutex
	nonces map[string]bool
	seen   []sentRequest
}

// sentRequest is what the stand-in saw of one verified request.
type sentRequest struct {
	Method, Path            string
	Query                   map[string]string
	Action, Version, Accept string
	ContentSHA256           string
	BodyLen                 int
}

func newStandIn(t testing.TB, answer http.HandlerFunc) *aliyunStandIn {
	t.Helper()
	a := &aliyunStandIn{
		secrets: map[string]string{testKeyID: testKeySecret},
		now:     time.Now,
		answer:  answer,
		nonces:  map[string]bool{},
	}
	if a.answer == nil {
		a.answer = answerOK("9006197469364984^0")
	}
	a.srv = httptest.NewServer(a)
	t.Cleanup(a.srv.Close)
	return a
}

// endpoint is the host:port the sender's Endpoint takes.
func (a *aliyunStandIn) endpoint() string { return strings.TrimPrefix(a.srv.URL, "http://") }

func (a *aliyunStandIn) requests() []sentRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.seen)
}

func (a *aliyunStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.tamper != nil {
		a.tamper(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if e := verifyACS3(r, body, a.secrets, a.now()); e != nil {
		e.write(w)
		return
	}
	nonce := r.Header.Get("x-acs-signature-nonce")
	a.mu.Lock()
	used := a.nonces[nonce]
	a.nonces[nonce] = true
	a.mu.Unlock()
	if used {
		(&aliyunError{http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already."}).write(w)
		return
	}
	if act := r.Header.Get("x-acs-action"); act != "SendSms" {
		(&aliyunError{http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."}).write(w)
		return
	}
	if v := r.Header.Get("x-acs-version"); v != "2017-05-25" {
		(&aliyunError{http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid."}).write(w)
		return
	}
	q := map[string]string{}
	for k, v := range r.URL.Query() {
		q[k] = strings.Join(v, ",")
	}
	a.mu.Lock()
	a.seen = append(a.seen, sentRequest{
		Method: r.Method, Path: r.URL.Path, Query: q,
		Action: r.Header.Get("x-acs-action"), Version: r.Header.Get("x-acs-version"),
		Accept: r.Header.Get("Accept"), ContentSHA256: r.Header.Get("x-acs-content-sha256"),
		BodyLen: len(body),
	})
	a.mu.Unlock()
	a.answer(w, r)
}

// aliyunError is one of the gateway's error answers.
type aliyunError struct {
	status        int
	code, message string
}

const standInRequestID = "F655A8D5-B967-440B-8683-DAD6FF8DE990"

// write sends the error in the JSON shape Aliyun's gateway uses.
func (e *aliyunError) write(w http.ResponseWriter) {
	writeJSON(w, e.status, map[string]string{
		"RequestId": standInRequestID,
		"HostId":    "dysmsapi.aliyuncs.com",
		"Code":      e.code,
		"Message":   e.message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + e.code + "&product=Dysmsapi&requestId=" + standInRequestID,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// answerOK is SendSms's answer to an accepted message.
func answerOK(bizID string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"Message": "OK", "RequestId": standInRequestID, "Code": "OK", "BizId": bizID})
	}
}

// answerCode is a business refusal: HTTP 200 with Code != "OK", or a
// gateway error at another status.
func answerCode(status int, code, message string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if status == http.StatusOK {
			writeJSON(w, status, map[string]string{"Message": message, "RequestId": standInRequestID, "Code": code})
			return
		}
		(&aliyunError{status, code, message}).write(w)
	}
}

// verifyACS3 checks a request's ACS3-HMAC-SHA256 signature as Aliyun does.
func verifyACS3(r *http.Request, body []byte, secrets map[string]string, now time.Time) *aliyunError {
	incomplete := func(why string) *aliyunError {
		return &aliyunError{http.StatusBadRequest, "IncompleteSignature", "The request signature does not conform to Aliyun standards. " + why}
	}
	alg, params, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || alg != "ACS3-HMAC-SHA256" {
		return incomplete("Authorization must start with ACS3-HMAC-SHA256.")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(params, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	keyID, signedList, signature := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if keyID == "" || signedList == "" || signature == "" {
		return incomplete("Credential, SignedHeaders and Signature are all required.")
	}
	secret, ok := secrets[keyID]
	if !ok {
		return &aliyunError{http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found."}
	}
	signed := strings.Split(signedList, ";")
	if !slices.IsSorted(signed) || !slices.Contains(signed, "host") {
		return incomplete("SignedHeaders must be sorted and include host.")
	}
	// Every common header except Authorization must be signed.
	for name := range r.Header {
		if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-acs-") && !slices.Contains(signed, lower) {
			return incomplete(name + " is not in SignedHeaders.")
		}
	}
	for _, h := range []string{"x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"} {
		if r.Header.Get(h) == "" {
			return incomplete(h + " is missing.")
		}
	}
	headers := map[string]string{}
	for _, name := range signed {
		if name != strings.ToLower(name) {
			return incomplete("SignedHeaders must be lower case.")
		}
		if name == "host" {
			headers[name] = r.Host
			continue
		}
		values := slices.Clone(r.Header.Values(name))
		if len(values) == 0 {
			return incomplete(name + " is signed but absent.")
		}
		for i := range values {
			values[i] = strings.TrimSpace(values[i])
		}
		slices.Sort(values)
		headers[name] = strings.Join(values, ",")
	}
	payloadHash := sha256Hex(body)
	if r.Header.Get("x-acs-content-sha256") != payloadHash {
		return &aliyunError{http.StatusBadRequest, "SignatureDoesNotMatch", "Specified signature does not match our calculation: x-acs-content-sha256 is not the hash of the body."}
	}
	want := acs3Signature(r.Method, r.URL.EscapedPath(), r.URL.Query(), headers, signed, payloadHash, secret)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return &aliyunError{http.StatusBadRequest, "SignatureDoesNotMatch", "Specified signature does not match our calculation."}
	}
	at, err := time.Parse("2006-01-02T15:04:05Z", r.Header.Get("x-acs-date"))
	if err != nil || at.Sub(now).Abs() > 15*time.Minute {
		return &aliyunError{http.StatusBadRequest, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."}
	}
	return nil
}

// acs3Signature computes the signature Aliyun's spec defines:
//
//	CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n
//	                   CanonicalHeaders \n SignedHeaders \n HashedPayload
//	StringToSign     = "ACS3-HMAC-SHA256\n" + hex(sha256(CanonicalRequest))
//	Signature        = hex(hmac-sha256(secret, StringToSign))
//
// The canonical query sorts parameters by name and percent-encodes names
// and values per RFC 3986; each canonical header is "name:value\n".
func acs3Signature(method, path string, query url.Values, headers map[string]string, signed []string, payloadHash, secret string) string {
	if path == "" {
		path = "/"
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range query {
			if !yield(k) {
				return
			}
		}
	})
	var pairs []string
	for _, k := range names {
		values := slices.Sorted(slices.Values(query[k]))
		for _, v := range values {
			pairs = append(pairs, rfc3986(k)+"="+rfc3986(v))
		}
	}
	var canonHeaders strings.Builder
	for _, name := range signed {
		canonHeaders.WriteString(name + ":" + headers[name] + "\n")
	}
	canonical := strings.Join([]string{method, path, strings.Join(pairs, "&"), canonHeaders.String(),
		strings.Join(signed, ";"), payloadHash}, "\n")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("ACS3-HMAC-SHA256\n" + sha256Hex([]byte(canonical))))
	return hex.EncodeToString(mac.Sum(nil))
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// rfc3986 leaves only A-Z a-z 0-9 - _ . ~ unencoded, as Aliyun requires.
func rfc3986(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
