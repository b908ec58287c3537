package templates

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/channels"
)

const maxUpdatedByBytes = 128

// Options tune a Store. The zero value gives the defaults.
type Options struct {
	// Now is the clock stamping UpdatedAt (default time.Now).
	Now func() time.Time
	// MaxVersions bounds each template's history; 0 (the default) keeps
	// every version, as the API promises. The current one is never dropped.
	MaxVersions int
}

// Store keeps templates and their versions in Redis. It is safe for
// concurrent use, also from several processes on the same Redis.
type Store struct {
	rdb                      redis.UniversalClient
	opt                      Options
	saveLua, readLua, pubLua *redis.Script
}

//go:embed scripts/*.lua
var scriptFS embed.FS

func loadScript(name string) (*redis.Script, error) {
	src, err := scriptFS.ReadFile("scripts/" + name)
	if err != nil {
		return nil, fmt.Errorf("templates: embedded script %s: %w", name, err)
	}
	return redis.NewScript(string(src)), nil
}

// NewStore checks opts, fills its defaults and prepares the scripts. It
// does not talk to Redis: scripts are loaded on first use.
func NewStore(rdb redis.UniversalClient, opts Options) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("templates: NewStore needs a Redis client, got nil")
	}
	switch {
	case opts.MaxVersions < 0:
		return nil, fmt.Errorf("templates: MaxVersions is %d; use 0 to keep every version or a positive bound", opts.MaxVersions)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{rdb: rdb, opt: opts}
	var err error
	if s.saveLua, err = loadScript("save.lua"); err != nil {
		return nil, err
	}
	if s.readLua, err = loadScript("read.lua"); err != nil {
		return nil, err
	}
	if s.pubLua, err = loadScript("publish.lua"); err != nil {
		return nil, err
	}
	return s, nil
}

// stored is a version as kept in Redis: the Template without its version
// number, which the save script assigns and keeps next to it.
type stored struct {
	ID        string                 `json:"id"`
	Name      string                 `json:"name"`
	Purpose   channels.Purpose       `json:"purpose"`
	Channels  Channels               `json:"channels"`
	Vars      []Var                  `json:"vars,omitempty"`
	Locales   map[string]LocaleBody  `json:"locales,omitempty"`
	Variants  map[string]VariantBody `json:"variants,omitempty"`
	UpdatedAt time.Time              `json:"updated_at"`
	UpdatedBy string                 `json:"updated_by,omitempty"`
}

type record struct {
	V int    `json:"v"`
	T stored `json:"t"`
}

// storedSummary is a Summary without its version, as kept for List.
type storedSummary struct {
	ID        string             `json:"id"`
	Name      string             `json:"name"`
	Purpose   channels.Purpose   `json:"purpose"`
	Channels  []channels.Channel `json:"channels"`
	UpdatedAt time.Time          `json:"updated_at"`
	UpdatedBy string             `json:"updated_by,omitempty"`
}

type summaryRecord struct {
	V int           `json:"v"`
	S storedSummary `json:"s"`
}

// Save validates t, stores it as the template's next version, stamped
// with the clock and by, and publishes it: sends use it from now on.
// Version, UpdatedAt, UpdatedBy and the publish fields in t are ignored.
//
// Saving content (name, purpose, channels) identical to the newest version
// stores nothing and returns the newest version as it is, with its own
// version number, time and author, and a nil error: a repeated PUT is
// idempotent, and a caller that must know compares the returned Version
// with the one it had. If that newest version was a draft, it is published.
func (s *Store) Save(ctx context.Context, t Template, by string) (Template, error) {
	return s.save(ctx, t, by, false)
}

// SaveDraft is Save without the publish: the version is kept for review
// and preview while sends go on using the published one. Saving content
// identical to the newest version stores nothing.
func (s *Store) SaveDraft(ctx context.Context, t Template, by string) (Template, error) {
	return s.save(ctx, t, by, true)
}

func checkAuthor(by string) *Problem {
	if len(by) > maxUpdatedByBytes || !utf8.ValidString(by) {
		return &Problem{Path: "updated_by", Message: fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxUpdatedByBytes)}
	}
	return nil
}

func (s *Store) save(ctx context.Context, t Template, by string, draft bool) (Template, error) {
	err := Validate(t)
	if p := checkAuthor(by); p != nil {
		var ie *InvalidError
		if errors.As(err, &ie) {
			ie.Problems = append(ie.Problems, *p)
		} else {
			err = &InvalidError{Problems: []Problem{*p}}
		}
	}
	if err != nil {
		return Template{}, err
	}
	now := s.opt.Now().UTC()
	st := stored{ID: t.ID, Name: t.Name, Purpose: t.Purpose, Channels: t.Channels, Vars: t.Vars,
		Locales: t.Locales, Variants: t.Variants,
		UpdatedAt: now, UpdatedBy: by}
	tj, err := json.Marshal(st)
	if err != nil {
		return Template{}, fmt.Errorf("templates: encode %s: %w", t.ID, err)
	}
	sj, err := json.Marshal(storedSummary{ID: t.ID, Name: t.Name, Purpose: t.Purpose,
		Channels: t.ChannelOrder(), UpdatedAt: st.UpdatedAt, UpdatedBy: by})
	if err != nil {
		return Template{}, fmt.Errorf("templates: encode %s: %w", t.ID, err)
	}
	digest, err := contentDigest(&t)
	if err != nil {
		return Template{}, err
	}
	byJSON, _ := json.Marshal(by)
	// The index entry goes first: a crash before the script leaves an id
	// without a template, which List skips, never a template List misses.
	if err := s.rdb.SAdd(ctx, indexKey, t.ID).Err(); err != nil {
		return Template{}, fmt.Errorf("templates: save %s: index: %w", t.ID, err)
	}
	k := keysFor(t.ID)
	flag := "0"
	if draft {
		flag = "1"
	}
	res, err := s.saveLua.Run(ctx, s.rdb, []string{k.cur, k.seq, k.hist, k.pubs, k.publog},
		digest, tj, sj, s.opt.MaxVersions, flag, now.UnixMilli(), string(byJSON), maxPublishLog).Slice()
	if err != nil {
		return Template{}, fmt.Errorf("templates: save %s: %w", t.ID, err)
	}
	if len(res) != 2 {
		return Template{}, fmt.Errorf("templates: save %s: the script returned %d values, want 2", t.ID, len(res))
	}
	rec, _ := res[1].(string)
	saved, err := decodeRecord(t.ID, rec)
	if err != nil {
		return Template{}, err
	}
	return s.GetVersion(ctx, t.ID, saved.Version)
}

// content is what makes two versions different: everything an editor
// writes, nothing the Store stamps.
type content struct {
	Name     string                 `json:"name"`
	Purpose  channels.Purpose       `json:"purpose"`
	Channels Channels               `json:"channels"`
	Vars     []Var                  `json:"vars,omitempty"`
	Locales  map[string]LocaleBody  `json:"locales,omitempty"`
	Variants map[string]VariantBody `json:"variants,omitempty"`
}

func contentOf(t *Template) content {
	return content{Name: t.Name, Purpose: t.Purpose, Channels: t.Channels, Vars: t.Vars, Locales: t.Locales, Variants: t.Variants}
}

// contentDigest hashes what makes two versions different. encoding/json
// writes map keys sorted, so equal content always hashes the same.
func contentDigest(t *Template) (string, error) {
	b, err := json.Marshal(contentOf(t))
	if err != nil {
		return "", fmt.Errorf("templates: encode %s: %w", t.ID, err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

func decodeRecord(id, rec string) (Template, error) {
	var r record
	if err := json.Unmarshal([]byte(rec), &r); err != nil {
		return Template{}, fmt.Errorf("templates: stored version of %s is corrupt: %w", id, err)
	}
	return Template{ID: r.T.ID, Name: r.T.Name, Purpose: r.T.Purpose, Channels: r.T.Channels, Vars: r.T.Vars,
		Locales: r.T.Locales, Variants: r.T.Variants,
		Version: r.V, UpdatedAt: r.T.UpdatedAt, UpdatedBy: r.T.UpdatedBy}, nil
}

func checkID(id string) error {
	if !ValidID(id) {
		return &InvalidError{Problems: []Problem{{Path: "id",
			Message: fmt.Sprintf("must be 1 to 64 characters of a-z, 0-9, _ and -, got %q", truncateForMessage(id))}}}
	}
	return nil
}

// Get returns the version sends use: the published one. ref is a template
// id, or "id@N" for version N of it, which pins a message (a test send of
// a draft, say) to that version.
func (s *Store) Get(ctx context.Context, ref string) (Template, error) {
	id, version, pinned := strings.Cut(ref, "@")
	if pinned {
		n, err := strconv.Atoi(version)
		if err != nil {
			return Template{}, &InvalidError{Problems: []Problem{{Path: "template",
				Message: fmt.Sprintf("%q must be a template id or id@version, like welcome@3", truncateForMessage(ref))}}}
		}
		return s.GetVersion(ctx, id, n)
	}
	return s.read(ctx, id, "published")
}

// Latest returns the newest version, draft or not: what an editor resumes
// work on.
func (s *Store) Latest(ctx context.Context, id string) (Template, error) {
	return s.read(ctx, id, "latest")
}

// GetVersion returns one version of the template, as a message that used
// it saw it. Versions older than the history keeps are ErrNotFound.
func (s *Store) GetVersion(ctx context.Context, id string, version int) (Template, error) {
	if version < 1 {
		return Template{}, &InvalidError{Problems: []Problem{{Path: "version", Message: fmt.Sprintf("must be 1 or more, got %d", version)}}}
	}
	t, err := s.read(ctx, id, strconv.Itoa(version))
	if err != nil {
		return Template{}, err
	}
	if t.Version != version {
		return Template{}, fmt.Errorf("templates: history of %s is out of order: found version %d where %d belongs", id, t.Version, version)
	}
	return t, nil
}

func (s *Store) read(ctx context.Context, id, which string) (Template, error) {
	if err := checkID(id); err != nil {
		return Template{}, err
	}
	k := keysFor(id)
	res, err := s.readLua.Run(ctx, s.rdb, []string{k.cur, k.hist, k.pubs}, which).Slice()
	if err != nil {
		return Template{}, fmt.Errorf("templates: get %s (%s): %w", id, which, err)
	}
	found, _ := res[0].(int64)
	switch {
	case found == 2:
		return Template{}, fmt.Errorf("%w: template %q has drafts only; publish a version with POST /api/v1/templates/%s/publish", ErrNotPublished, id, id)
	case found != 1 && which == "latest" || found != 1 && which == "published":
		return Template{}, fmt.Errorf("%w: no template %q", ErrNotFound, id)
	case found != 1:
		return Template{}, fmt.Errorf("%w: template %q has no version %s (never saved, or dropped by the history bound)", ErrNotFound, id, which)
	case len(res) != 5:
		return Template{}, fmt.Errorf("templates: get %s: the script returned %d values, want 5", id, len(res))
	}
	rec, _ := res[1].(string)
	t, err := decodeRecord(id, rec)
	if err != nil {
		return Template{}, err
	}
	pub, _ := res[2].(int64)
	maxpub, _ := res[3].(int64)
	entry, _ := res[4].(string)
	ps := pubState{pub: int(pub), maxpub: int(maxpub)}
	if err := ps.stamp(&t, entry); err != nil {
		return Template{}, err
	}
	return t, nil
}

// pubState is what a version's status is computed from.
type pubState struct{ pub, maxpub int }

func (ps pubState) status(v int) Status {
	switch {
	case v == ps.pub:
		return StatusPublished
	case v > ps.maxpub:
		return StatusDraft
	}
	return StatusSuperseded
}

// publishEntry is a version's last publish as kept in {tpl:ID}:pubs.
type publishEntry struct {
	At int64  `json:"at"`
	By string `json:"by"`
}

func (ps pubState) stamp(t *Template, entry string) error {
	t.Status, t.PublishedVersion = ps.status(t.Version), ps.pub
	if entry == "" {
		return nil
	}
	var e publishEntry
	if err := json.Unmarshal([]byte(entry), &e); err != nil {
		return fmt.Errorf("templates: publish record of %s version %d is corrupt: %w", t.ID, t.Version, err)
	}
	at := time.UnixMilli(e.At).UTC()
	t.PublishedAt, t.PublishedBy = &at, e.By
	return nil
}

// state reads the published and highest-published version numbers with
// every version's last publish, in one transaction.
func (s *Store) state(ctx context.Context, id string, extra func(p redis.Pipeliner)) (pubState, map[string]string, error) {
	k := keysFor(id)
	var cur *redis.SliceCmd
	var pubs *redis.MapStringStringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		cur = p.HMGet(ctx, k.cur, "pub", "maxpub", "version")
		pubs = p.HGetAll(ctx, k.pubs)
		if extra != nil {
			extra(p)
		}
		return nil
	})
	if err != nil {
		return pubState{}, nil, fmt.Errorf("templates: read %s: %w", id, err)
	}
	vals := cur.Val()
	return stateOf(vals[0], vals[1], vals[2]), pubs.Val(), nil
}

func stateOf(pub, maxpub, version any) pubState {
	atoi := func(v any) int {
		s, _ := v.(string)
		n, _ := strconv.Atoi(s)
		return n
	}
	if pub == nil { // saved before drafts existed: the newest is published
		return pubState{pub: atoi(version), maxpub: atoi(version)}
	}
	return pubState{pub: atoi(pub), maxpub: atoi(maxpub)}
}

// Versions returns every kept version of the template, newest first.
func (s *Store) Versions(ctx context.Context, id string) ([]Template, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var hist *redis.StringSliceCmd
	ps, pubs, err := s.state(ctx, id, func(p redis.Pipeliner) { hist = p.LRange(ctx, keysFor(id).hist, 0, -1) })
	if err != nil {
		return nil, err
	}
	recs := hist.Val()
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: no template %q", ErrNotFound, id)
	}
	out := make([]Template, len(recs))
	for i, rec := range recs {
		if out[i], err = decodeRecord(id, rec); err != nil {
			return nil, err
		}
		if err := ps.stamp(&out[i], pubs[strconv.Itoa(out[i].Version)]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Publish makes version the one sends use, from the next message on.
// Publishing an older version is the rollback. changed is false when it
// already was the published version; then nothing is logged.
func (s *Store) Publish(ctx context.Context, id string, version int, by string) (t Template, changed bool, err error) {
	if err := checkID(id); err != nil {
		return Template{}, false, err
	}
	if version < 1 {
		return Template{}, false, &InvalidError{Problems: []Problem{{Path: "version", Message: fmt.Sprintf("must be 1 or more, got %d", version)}}}
	}
	if p := checkAuthor(by); p != nil {
		return Template{}, false, &InvalidError{Problems: []Problem{*p}}
	}
	byJSON, _ := json.Marshal(by)
	k := keysFor(id)
	res, err := s.pubLua.Run(ctx, s.rdb, []string{k.cur, k.hist, k.pubs, k.publog},
		version, s.opt.Now().UTC().UnixMilli(), string(byJSON), maxPublishLog).Slice()
	if errors.Is(err, redis.Nil) {
		return Template{}, false, fmt.Errorf("%w: template %q has no version %d (never saved, or dropped by the history bound)",
			ErrNotFound, id, version)
	}
	if err != nil {
		return Template{}, false, fmt.Errorf("templates: publish %s version %d: %w", id, version, err)
	}
	n, _ := res[0].(int64)
	t, err = s.GetVersion(ctx, id, version)
	return t, n == 1, err
}

// maxPublishLog bounds each template's publish log.
const maxPublishLog = 1000

// PublishRecord is one publish: which version went live, when, by whom.
type PublishRecord struct {
	Version int       `json:"version"`
	At      time.Time `json:"at"`
	By      string    `json:"by,omitempty"`
}

// Publishes returns the template's publish log, newest first (up to the
// last 1000), so "who made this live?" has an answer after rollbacks too.
func (s *Store) Publishes(ctx context.Context, id string) ([]PublishRecord, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	recs, err := s.rdb.LRange(ctx, keysFor(id).publog, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("templates: publishes of %s: %w", id, err)
	}
	out := make([]PublishRecord, 0, len(recs))
	for _, rec := range recs {
		var e struct {
			V int `json:"v"`
			publishEntry
		}
		if err := json.Unmarshal([]byte(rec), &e); err != nil {
			return nil, fmt.Errorf("templates: publish log of %s is corrupt: %w", id, err)
		}
		out = append(out, PublishRecord{Version: e.V, At: time.UnixMilli(e.At).UTC(), By: e.By})
	}
	return out, nil
}

// List returns a summary of every template's newest version, by id.
func (s *Store) List(ctx context.Context) ([]Summary, error) {
	ids, err := s.rdb.SMembers(ctx, indexKey).Result()
	if err != nil {
		return nil, fmt.Errorf("templates: list: %w", err)
	}
	sort.Strings(ids)
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, keysFor(id).cur, "sum", "pub", "maxpub", "version")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("templates: list: %w", err)
	}
	out := make([]Summary, 0, len(ids))
	for i, c := range cmds {
		vals, err := c.Result()
		if err != nil {
			return nil, fmt.Errorf("templates: list %s: %w", ids[i], err)
		}
		rec, ok := vals[0].(string)
		if !ok {
			continue // indexed, but the save did not finish
		}
		var r summaryRecord
		if err := json.Unmarshal([]byte(rec), &r); err != nil {
			return nil, fmt.Errorf("templates: stored summary of %s is corrupt: %w", ids[i], err)
		}
		ps := stateOf(vals[1], vals[2], vals[3])
		out = append(out, Summary{ID: r.S.ID, Name: r.S.Name, Purpose: r.S.Purpose, Channels: r.S.Channels,
			Version: r.V, UpdatedAt: r.S.UpdatedAt, UpdatedBy: r.S.UpdatedBy, Status: ps.status(r.V), PublishedVersion: ps.pub})
	}
	return out, nil
}
