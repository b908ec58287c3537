package main

import (
	"crypto/rand"
	"slices"
	"time"
)

// Bounds on the platform state, so a long run or a misbehaving client cannot
// grow the sandbox without limit.
const (
	maxTokens     = 1000  // live access tokens per platform
	maxEntries    = 10000 // welcome codes, sessions, followers, rate windows, nonces
	maxKFMessages = 10000
	maxCallbacks  = 1000
)

// platformState is what the stand-ins remember between calls. It is guarded by sandbox.mu.
type platformState struct {
	tokens       map[string]map[string]time.Time // platform -> token -> expiry
	stableToken  string                          // the official account's current stable_token
	welcomeCodes map[string]welcomeCode
	kfMsgs       []kfMessage
	kfSeq        uint64
	kfTokens     map[string]kfToken
	kfSessions   map[string]*kfSession // open_kfid + "/" + external_userid
	kfAccounts   map[string]bool
	kfWelcomes   map[string]kfWelcome // enter_session welcome codes
	groupSends   map[string]string    // external_userid -> day (Asia/Shanghai) of its last admin group message
	tags         map[string]map[string]bool
	followers    map[string]*follower // openid
	smsSends     map[string][]time.Time
	nonces       map[string]time.Time // ACS3 signature nonces seen in the last 15 minutes
	callbacks    []callbackRecord
	nextMsgID    int64
}

func newPlatformState() platformState {
	return platformState{
		tokens:       map[string]map[string]time.Time{},
		welcomeCodes: map[string]welcomeCode{},
		kfTokens:     map[string]kfToken{},
		kfSessions:   map[string]*kfSession{},
		kfAccounts:   map[string]bool{},
		kfWelcomes:   map[string]kfWelcome{},
		groupSends:   map[string]string{},
		tags:         map[string]map[string]bool{},
		followers:    map[string]*follower{},
		smsSends:     map[string][]time.Time{},
		nonces:       map[string]time.Time{},
		nextMsgID:    3000000000,
	}
}

type welcomeCode struct {
	issued        time.Time
	used          bool
	userID, extID string
}

type kfMessage struct {
	seq  uint64
	body map[string]any
}

type kfToken struct {
	openKFID string
	expires  time.Time
}

type kfSession struct {
	lastCustomer time.Time
	sentSince    int
}

// follower is an official-account user the sandbox has played.
type follower struct {
	lastInteraction time.Time
	unsubscribed    bool
	sentSince       int // customer-service messages since the last interaction
}

// callbackRecord tells what a played callback or pushed report got back, for
// the control API and for debugging a gateway.
type callbackRecord struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	URL      string    `json:"url"`
	Attempts int       `json:"attempts"`
	Status   int       `json:"status"`
	Response string    `json:"response,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// pruneOldest deletes entries until m has room for one more; which entries go
// does not matter for a stand-in, only that memory stays bounded.
func pruneOldest[V any](m map[string]V, limit int) {
	for k := range m {
		if len(m) < limit {
			return
		}
		delete(m, k)
	}
}

// randomString draws n characters from alphabet; it is used for tokens, codes and ids.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the platform would be broken too
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const (
	alnum      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	tokenChars = alnum + "-_"
	digits     = "0123456789"
	hexDigits  = "0123456789abcdef"
)

// issueToken hands out a fresh access token for platform with the platforms' 7200 s life.
func (s *sandbox) issueToken(platform string, length int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueTokenLocked(platform, length)
}

func (s *sandbox) issueTokenLocked(platform string, length int) string {
	now := s.now()
	m := s.state.tokens[platform]
	if m == nil {
		m = map[string]time.Time{}
		s.state.tokens[platform] = m
	}
	for t, exp := range m {
		if now.After(exp.Add(time.Hour)) {
			delete(m, t)
		}
	}
	pruneOldest(m, maxTokens)
	tok := randomString(length, tokenChars)
	m[tok] = now.Add(tokenLife)
	return tok
}

type tokenState int

const (
	tokenOK tokenState = iota
	tokenMissing
	tokenUnknown
	tokenExpired
)

func (s *sandbox) checkToken(platform, tok string) tokenState {
	if tok == "" {
		return tokenMissing
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.state.tokens[platform][tok]
	switch {
	case !ok:
		return tokenUnknown
	case !s.now().Before(exp):
		return tokenExpired
	}
	return tokenOK
}

// expireTokens ends every token of platform now, so a gateway's refresh on 42001 can be tested.
func (s *sandbox) expireTokens(platform string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	n := 0
	for t := range s.state.tokens[platform] {
		s.state.tokens[platform][t] = now.Add(-time.Second)
		n++
	}
	if platform == chOA {
		s.state.stableToken = ""
	}
	return n
}

func (s *sandbox) recordCallback(c callbackRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.state.callbacks) >= maxCallbacks {
		s.state.callbacks = append(s.state.callbacks[:0], s.state.callbacks[1:]...)
	}
	s.state.callbacks = append(s.state.callbacks, c)
}

func (s *sandbox) callbackLog() []callbackRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]callbackRecord{}, s.state.callbacks...)
}

// resetState forgets everything but the configuration, for DELETE /api/messages.
func (s *sandbox) resetState() {
	s.mu.Lock()
	s.state = newPlatformState()
	s.mu.Unlock()
	s.store.reset()
	s.faults.clear()
}

func sortStrings(s []string) { slices.Sort(s) }
