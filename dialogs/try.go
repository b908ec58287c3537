package dialogs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/journeygate/gateway/channels"
)

// ErrUnknownScript means Try was asked for a script the library does not hold.
var ErrUnknownScript = errors.New("no dialog script with that id")

// MaxTryMessages bounds one test chat, so a request cannot keep a contact
// lock busy for long.
const MaxTryMessages = 50

// TryReply is one message the script would send.
type TryReply struct {
	Text     string            `json:"text,omitempty"`
	Template string            `json:"template,omitempty"`
	Vars     map[string]string `json:"vars,omitempty"`
}

// TryTurn is one exchange of a test chat: what the contact wrote ("" for
// the start), what the script answered and did, and where it waits after.
type TryTurn struct {
	In        string     `json:"in"`
	Replies   []TryReply `json:"replies"`
	Actions   []string   `json:"actions"`
	Step      string     `json:"step,omitempty"`
	Ended     bool       `json:"ended,omitempty"`
	HandedOff bool       `json:"handed_off,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// Try runs script id of the engine's library from its first step and
// answers it with messages, as a contact writing on channel ch would, and
// returns the transcript. It runs the real engine (matching, re-prompts,
// captures, branches, global keywords) on a throwaway contact whose
// actions are only recorded: nothing is sent, tagged or scheduled, and the
// throwaway session is deleted afterwards. Timeouts do not pass.
func (e *Engine) Try(ctx context.Context, id string, messages []string, ch channels.Channel) ([]TryTurn, error) {
	sc, ok := e.Library().Script(id)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownScript, id)
	}
	if len(messages) > MaxTryMessages {
		return nil, fmt.Errorf("dialogs: a test chat takes at most %d messages, got %d: %w", MaxTryMessages, len(messages), ErrInvalidInbound)
	}
	if ch == "" {
		ch = channels.WeCom
	}
	rec := &tryActions{}
	opt := e.opt
	te, err := NewEngine(e.rdb, e.Library(), rec, opt)
	if err != nil {
		return nil, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	contact := "try-" + hex.EncodeToString(b[:])
	defer te.forget(contact)

	turns := make([]TryTurn, 0, len(messages)+1)
	ld, err := te.lock(ctx, contact, lockUnlessHeld, true)
	if err != nil {
		return nil, err
	}
	t := te.newTurn(ctx, contact, ch, te.opt.Now(), &Inbound{ContactID: contact, Channel: ch})
	t.start(sc)
	out, err := t.finish(ld)
	turns = append(turns, te.tryTurn(ctx, contact, "", out, err, rec))
	for _, m := range messages {
		in := Inbound{ContactID: contact, Channel: ch, Text: m, EventType: channels.TypeMessage}
		p := rec.snapshot()
		in.Tags, in.Score, in.Stage = p.Tags, p.Score, p.Stage
		out, err := te.Handle(ctx, in)
		turns = append(turns, te.tryTurn(ctx, contact, m, out, err, rec))
	}
	return turns, nil
}

func (e *Engine) tryTurn(ctx context.Context, contact, in string, out Outcome, err error, rec *tryActions) TryTurn {
	tt := TryTurn{In: in, Replies: []TryReply{}, Actions: rec.take(), HandedOff: out.HandedOff}
	for _, r := range out.Replies {
		tt.Replies = append(tt.Replies, TryReply{Text: r.Text, Template: r.Template, Vars: r.Vars})
	}
	if err != nil {
		tt.Error = err.Error()
	}
	st, serr := e.State(ctx, contact)
	switch {
	case serr != nil && tt.Error == "":
		tt.Error = serr.Error()
	case st.HandedOff:
		tt.HandedOff = true
	}
	tt.Step = st.Step
	tt.Ended = st.Script == "" && !tt.HandedOff
	return tt
}

// forget deletes a throwaway contact's session, lock and deadline.
func (e *Engine) forget(contact string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = e.rdb.Del(ctx, sessionKey(contact), lockKey(contact)).Err()
	_ = e.rdb.ZRem(ctx, dueKey, contact).Err()
}

// tryActions records what a script would do and keeps a profile in memory,
// so branches on tags, score and stage behave as they would.
type tryActions struct {
	mu   sync.Mutex
	log  []string
	tags []string
	prof Profile
}

func (a *tryActions) note(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.log = append(a.log, fmt.Sprintf(format, args...))
}

func (a *tryActions) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.log
	a.log = nil
	if out == nil {
		out = []string{}
	}
	return out
}

func (a *tryActions) snapshot() Profile {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.prof
	p.Tags = slices.Clone(a.tags)
	return p
}

func (a *tryActions) Tag(_ context.Context, _ Target, tag string) error {
	a.mu.Lock()
	if !slices.Contains(a.tags, tag) {
		a.tags = append(a.tags, tag)
		sort.Strings(a.tags)
	}
	a.mu.Unlock()
	a.note("tag %s", tag)
	return nil
}

func (a *tryActions) Untag(_ context.Context, _ Target, tag string) error {
	a.mu.Lock()
	a.tags = slices.DeleteFunc(a.tags, func(t string) bool { return t == tag })
	a.mu.Unlock()
	a.note("untag %s", tag)
	return nil
}

func (a *tryActions) Score(_ context.Context, _ Target, delta int) error {
	a.mu.Lock()
	a.prof.Score += delta
	a.mu.Unlock()
	a.note("score %+d", delta)
	return nil
}

func (a *tryActions) SetStage(_ context.Context, _ Target, stage string) error {
	a.mu.Lock()
	a.prof.Stage = stage
	a.mu.Unlock()
	a.note("stage %s", stage)
	return nil
}

func (a *tryActions) Send(_ context.Context, _ Target, r Reply) error {
	a.note("send %s", replyLine(r.Text, r.Template))
	return nil
}

func (a *tryActions) IssueCoupon(_ context.Context, _ Target, batch string) (string, error) {
	a.note("coupon from batch %s", batch)
	return "TEST-" + strings.ToUpper(batch), nil
}

func (a *tryActions) ScheduleReminder(_ context.Context, _ Target, r Reminder) error {
	a.note("reminder at %s: %s", r.At.UTC().Format(time.RFC3339), replyLine(r.Text, r.Template))
	return nil
}

func (a *tryActions) Handoff(_ context.Context, _ Target, h Handoff) error {
	a.note("hand-off (%s)", h.Reason)
	return nil
}

func (a *tryActions) Unsubscribe(_ context.Context, t Target) error {
	a.note("unsubscribe from %s", t.Channel)
	return nil
}

func (a *tryActions) Profile(context.Context, string) (Profile, error) { return a.snapshot(), nil }

func replyLine(text, template string) string {
	if template != "" {
		return "template " + template
	}
	return text
}
