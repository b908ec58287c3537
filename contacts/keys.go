package contacts

import (
	"crypto/sha256"
	"encoding/base64"
)

// Every key of one contact carries the hash tag {c:<id>}, so a script over
// them stays in one Cluster slot. The tag index lives outside contact slots.

// contactKeys names the keys of one contact.
type contactKeys struct {
	hash string // {c:ID}:h        stage, score, consent:<ch>, f:<field>, ...
	tags string // {c:ID}:tags     set of tags
	ids  string // {c:ID}:ids      set of "kind:value"
	tl   string // {c:ID}:tl       timeline, newest first
	link string // {c:ID}:link     id this contact was merged into
	evs  string // {c:ID}:evs      event id -> expiry (ms): de-dup record, moved along on merges
	tagv string // {c:ID}:tagv     tag -> version of its last change (see tagindex.go)
	tagp string // {c:ID}:tagp     tags whose index entry is not confirmed yet
}

func keysFor(id string) contactKeys {
	p := "{c:" + id + "}"
	return contactKeys{
		hash: p + ":h",
		tags: p + ":tags",
		ids:  p + ":ids",
		tl:   p + ":tl",
		link: p + ":link",
		evs:  p + ":evs",
		tagv: p + ":tagv",
		tagp: p + ":tagp",
	}
}

// eventMember is how an event id is kept in {c:ID}:evs (and in score cap
// sets): a 96-bit digest in 16 characters. Platform ids run to 90 bytes and
// carry the customer's external id; the digest keeps the sorted set in
// Redis's compact encoding and the customer's ids out of it.
func eventMember(id string) string {
	if id == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// scoreLogKey is the score log of a contact: why its score changed, newest
// first. It is not in contactKeys.list, whose order the scripts rely on.
func scoreLogKey(id string) string { return "{c:" + id + "}:sl" }

// scoreCapKey holds the events of one type that counted against its cap.
func scoreCapKey(id, eventType string) string { return "{c:" + id + "}:cap:" + eventType }

// The activity indexes live outside the contacts' slots, under one hash tag:
// seen orders contacts by last activity (for the silence sweep), decay by
// when to look at their score again (see activity.go).
const (
	seenIndexKey  = "{act}:seen"
	decayIndexKey = "{act}:decay"
)

// tagIndexKey is the set of ids of the contacts carrying tag.
func tagIndexKey(tag string) string { return "tag:" + tag }

// list returns the keys in the order the scripts take them.
func (k contactKeys) list() []string {
	return []string{k.hash, k.tags, k.ids, k.tl, k.link, k.evs, k.tagv, k.tagp}
}
