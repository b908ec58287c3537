package contacts

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds on one Change. They keep a single script call small and refuse
// garbage early; real events stay far below them.
const (
	maxIdentities    = 16
	maxEventIDLen    = 256
	maxNameLen       = 256
	maxTagLen        = 128
	maxTags          = 100
	maxFields        = 100
	maxFieldNameLen  = 64
	maxFieldValueLen = 4096
	maxSourceLen     = 512
	maxTextLen       = 8192
	maxProps         = 64
	maxPropLen       = 2048
	maxScoreDelta    = 1_000_000
	// internalDedupTTL is how long the made-up event id of a multi-identity
	// change without EventID lives: long enough for Apply's own retries.
	internalDedupTTL = time.Hour
)

// earliest and latest bound timestamps: JSON time needs years 0-9999 and
// nothing real predates 1970.
var (
	earliest = time.Unix(0, 0).UTC()
	latest   = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// prepared is a validated Change turned into script arguments.
type prepared struct {
	identities []Identity
	event      string // de-dup id, "" = none
	internal   bool   // event was made up by Apply, not given by the caller
	capType    string // event type whose cap the score counts against ("" = none)
	argv       []any
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("contacts: "+format+": %w", append(args, ErrInvalid)...)
}

// prepare validates the whole Change before anything is written and builds
// the arguments of apply.lua.
func (s *Store) prepare(ch Change) (*prepared, error) {
	p := &prepared{}
	if len(ch.Identities) == 0 {
		return nil, invalid("the change names no identity; pass at least one of phone, email, openid, unionid, external_userid")
	}
	if len(ch.Identities) > maxIdentities {
		return nil, invalid("the change names %d identities; at most %d are allowed", len(ch.Identities), maxIdentities)
	}
	seen := map[Identity]bool{}
	for _, i := range ch.Identities {
		n, err := NormalizeIdentity(i)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			p.identities = append(p.identities, n)
		}
	}
	if err := checkString("EventID", ch.EventID, maxEventIDLen); err != nil {
		return nil, err
	}
	if ch.Channel != "" && !s.channels[ch.Channel] {
		return nil, invalid("channel %q is unknown; use one of %s", ch.Channel, strings.Join(s.opt.Channels, ", "))
	}
	now := s.now()
	at := ch.At
	if at.IsZero() {
		at = now
	}
	if err := checkTime("At", at); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"Owner", ch.Owner}, {"Name", ch.Name}} {
		if err := checkString(f.name, f.v, maxNameLen); err != nil {
			return nil, err
		}
	}
	if ch.TZ != "" {
		if _, err := time.LoadLocation(ch.TZ); err != nil || len(ch.TZ) > 64 || ch.TZ == "Local" {
			return nil, invalid("TZ %q is not a known time zone; use an IANA name such as Asia/Shanghai", ch.TZ)
		}
	}
	switch ch.Stage {
	case "", StageProspect, StageMQL, StageSQL, StageCustomer:
	default:
		return nil, invalid("stage %q is unknown; use prospect, mql, sql or customer", ch.Stage)
	}
	switch ch.Activity {
	case "", ActivityActive, ActivitySilent, ActivityChurned:
	default:
		return nil, invalid("activity %q is unknown; use active, silent or churned", ch.Activity)
	}
	if ch.ScoreDelta > maxScoreDelta || ch.ScoreDelta < -maxScoreDelta {
		return nil, invalid("score delta %d is out of range; keep it within ±%d", ch.ScoreDelta, maxScoreDelta)
	}
	fieldNames, err := checkFields(ch.Fields)
	if err != nil {
		return nil, err
	}
	add, err := checkTags("AddTags", ch.AddTags)
	if err != nil {
		return nil, err
	}
	remove, err := checkTags("RemoveTags", ch.RemoveTags)
	if err != nil {
		return nil, err
	}
	if len(add)+len(remove) > maxTags {
		return nil, invalid("the change touches %d tags; at most %d are allowed", len(add)+len(remove), maxTags)
	}
	for _, t := range add {
		if _, both := slices.BinarySearch(remove, t); both {
			return nil, invalid("tag %q is both added and removed; keep it in one list", t)
		}
	}
	consentArgs, err := s.checkConsent(ch.Consent, at)
	if err != nil {
		return nil, err
	}
	unreachable, err := s.checkUnreachable(ch.Unreachable)
	if err != nil {
		return nil, err
	}
	scoreEntry, err := s.scoreEntry(ch, at)
	if err != nil {
		return nil, err
	}
	if ch.ScoreCap.Max < 0 || ch.ScoreCap.Window < 0 {
		return nil, invalid("score cap %+v is negative; use a positive max and window, or none", ch.ScoreCap)
	}
	if ch.ScoreCap.Max > 0 {
		if ch.ScoreEvent == "" {
			return nil, invalid("a score cap needs ScoreEvent, the event type it counts")
		}
		p.capType = ch.ScoreEvent
	}
	entry := ""
	if ch.Timeline != nil {
		e := *ch.Timeline
		if e.At.IsZero() {
			e.At = at
		}
		if entry, err = entryJSON(e); err != nil {
			return nil, err
		}
	}

	p.event = eventMember(ch.EventID)
	ttl := s.opt.DedupTTL
	if p.event == "" && len(p.identities) > 1 {
		// A multi-identity change may be applied, then re-resolved after a
		// concurrent change; a private event id keeps it from counting twice.
		var b [16]byte
		_, _ = rand.Read(b[:])
		p.event, p.internal, ttl = "\x01"+hex.EncodeToString(b[:]), true, internalDedupTTL
	}

	argv := make([]any, 0, 24+len(p.identities)+2*len(fieldNames)+len(add)+len(remove)+len(consentArgs)+len(unreachable))
	argv = append(argv,
		p.event, strconv.FormatInt(ttl.Milliseconds(), 10),
		strconv.FormatInt(now.UnixMilli(), 10), strconv.FormatInt(at.UnixMilli(), 10),
		touchArg(ch), ch.Owner, ch.Name, ch.Stage, ch.Activity,
		strconv.Itoa(ch.ScoreDelta), ch.TZ, strconv.Itoa(s.opt.TimelineMax), entry,
		strconv.FormatInt(tagLease.Milliseconds(), 10),
		scoreEntry, strconv.Itoa(s.opt.ScoreLogMax),
		strconv.Itoa(ch.ScoreCap.Max), strconv.FormatInt(ch.ScoreCap.Window.Milliseconds(), 10),
		strconv.FormatInt(s.opt.IndexEvery.Milliseconds(), 10),
	)
	argv = append(argv, strconv.Itoa(len(p.identities)))
	for _, i := range p.identities {
		argv = append(argv, i.String())
	}
	argv = append(argv, strconv.Itoa(len(fieldNames)))
	for _, k := range fieldNames {
		argv = append(argv, k, ch.Fields[k])
	}
	argv = appendList(argv, add)
	argv = appendList(argv, remove)
	argv = append(argv, strconv.Itoa(len(consentArgs)/4))
	argv = append(argv, consentArgs...)
	argv = appendList(argv, unreachable)
	p.argv = argv
	return p, nil
}

// touchArg encodes Touch and Channel for apply.lua's ARGV[5].
func touchArg(ch Change) string {
	switch {
	case !ch.Touch:
		return "0"
	case ch.Channel == "":
		return "1"
	}
	return ch.Channel
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func appendList(argv []any, list []string) []any {
	argv = append(argv, strconv.Itoa(len(list)))
	for _, v := range list {
		argv = append(argv, v)
	}
	return argv
}

func checkString(field, v string, max int) error {
	if len(v) > max {
		return invalid("%s is %d bytes; at most %d are allowed", field, len(v), max)
	}
	if err := checkText(v); err != nil {
		return invalid("%s %q %v", field, v, err)
	}
	return nil
}

func checkTime(field string, t time.Time) error {
	if t.Before(earliest) || t.After(latest) {
		return invalid("%s %s is out of range; pass the event's real time, or zero for now", field, t.Format(time.RFC3339))
	}
	return nil
}

// checkTags returns the tags sorted and without repeats.
func checkTags(field string, tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t == "" {
			return nil, invalid("%s holds an empty tag; drop it", field)
		}
		if strings.TrimSpace(t) != t {
			return nil, invalid("%s tag %q has surrounding spaces; trim it", field, t)
		}
		if err := checkString(field+" tag", t, maxTagLen); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// checkFields returns the field names sorted, so scripts see a stable order.
func checkFields(fields map[string]string) ([]string, error) {
	if len(fields) > maxFields {
		return nil, invalid("the change sets %d fields; at most %d are allowed", len(fields), maxFields)
	}
	names := make([]string, 0, len(fields))
	for k, v := range fields {
		if k == "" {
			return nil, invalid("a field has an empty name; name every field")
		}
		if err := checkString("field name", k, maxFieldNameLen); err != nil {
			return nil, err
		}
		if !utf8.ValidString(v) || len(v) > maxFieldValueLen {
			return nil, invalid("field %q value must be UTF-8 text of at most %d bytes", k, maxFieldValueLen)
		}
		names = append(names, k)
	}
	slices.Sort(names)
	return names, nil
}

// checkConsent returns apply.lua's consent group items: channel, status,
// source and the timeline entry recording the change.
func (s *Store) checkConsent(changes []ConsentChange, at time.Time) ([]any, error) {
	out := make([]any, 0, 4*len(changes))
	seen := map[string]bool{}
	for _, c := range changes {
		if !s.channels[c.Channel] {
			return nil, invalid("consent channel %q is unknown; use one of %s", c.Channel, strings.Join(s.opt.Channels, ", "))
		}
		if seen[c.Channel] {
			return nil, invalid("consent for channel %q is given twice; give it once", c.Channel)
		}
		seen[c.Channel] = true
		switch c.Status {
		case ConsentOptedIn, ConsentOptedOut, ConsentUnknown:
		default:
			return nil, invalid("consent status %q for %s is unknown; use opted_in, opted_out or unknown", c.Status, c.Channel)
		}
		if err := checkString("consent source", c.Source, maxSourceLen); err != nil {
			return nil, err
		}
		entry, err := entryJSON(Entry{At: at, Type: TypeConsent, Source: c.Source,
			Props: map[string]string{"channel": c.Channel, "status": c.Status}})
		if err != nil {
			return nil, err
		}
		out = append(out, c.Channel, c.Status, c.Source, entry)
	}
	return out, nil
}

func (s *Store) checkUnreachable(channels []string) ([]string, error) {
	out := make([]string, 0, len(channels))
	for _, c := range channels {
		if !s.channels[c] {
			return nil, invalid("unreachable channel %q is unknown; use one of %s", c, strings.Join(s.opt.Channels, ", "))
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// entryJSON checks e and encodes it the way the timeline stores it: At in
// UTC first, which absorb.lua relies on to merge timelines by time.
func entryJSON(e Entry) (string, error) {
	if err := checkTime("timeline At", e.At); err != nil {
		return "", err
	}
	if e.Type == "" {
		return "", invalid("the timeline entry has no type; set Entry.Type, e.g. whitepaper_download")
	}
	if err := checkString("timeline type", e.Type, maxNameLen); err != nil {
		return "", err
	}
	if err := checkString("timeline source", e.Source, maxSourceLen); err != nil {
		return "", err
	}
	if !utf8.ValidString(e.Text) || len(e.Text) > maxTextLen {
		return "", invalid("timeline text must be UTF-8 of at most %d bytes", maxTextLen)
	}
	if len(e.Props) > maxProps {
		return "", invalid("the timeline entry has %d props; at most %d are allowed", len(e.Props), maxProps)
	}
	for k, v := range e.Props {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) || len(k) > maxPropLen || len(v) > maxPropLen {
			return "", invalid("timeline prop %q must have a non-empty name and UTF-8 text of at most %d bytes each", k, maxPropLen)
		}
	}
	e.At = e.At.UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return "", invalid("timeline entry cannot be encoded (%v)", err)
	}
	return string(b), nil
}
