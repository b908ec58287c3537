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
	rdb           redis.UniversalClient
	opt           Options
	save, version *redis.Script
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
	if s.save, err = loadScript("save.lua"); err != nil {
		return nil, err
	}
	if s.version, err = loadScript("version.lua"); err != nil {
		return nil, err
	}
	return s, nil
}

// stored is a version as kept in Redis: the Template without its version
// number, which the save script assigns and keeps next to it.
type stored struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Purpose   channels.Purpose `json:"purpose"`
	Channels  Channels         `json:"channels"`
	UpdatedAt time.Time        `json:"updated_at"`
	UpdatedBy string           `json:"updated_by,omitempty"`
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

// Save validates t and stores it as the template's next version, stamped
// with the clock and by. Version, UpdatedAt and UpdatedBy in t are
// ignored.
//
// Saving content (name, purpose, channels) identical to the current
// version stores nothing and returns the current version as it is, with
// its own version number, time and author, and a nil error: a repeated
// PUT is idempotent, and a caller that must know compares the returned
// Version with the one it had.
func (s *Store) Save(ctx context.Context, t Template, by string) (Template, error) {
	err := Validate(t)
	if len(by) > maxUpdatedByBytes || !utf8.ValidString(by) {
		p := Problem{Path: "updated_by", Message: fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxUpdatedByBytes)}
		var ie *InvalidError
		if errors.As(err, &ie) {
			ie.Problems = append(ie.Problems, p)
		} else {
			err = &InvalidError{Problems: []Problem{p}}
		}
	}
	if err != nil {
		return Template{}, err
	}
	st := stored{ID: t.ID, Name: t.Name, Purpose: t.Purpose, Channels: t.Channels,
		UpdatedAt: s.opt.Now().UTC(), UpdatedBy: by}
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
	// The index entry goes first: a crash before the script leaves an id
	// without a template, which List skips, never a template List misses.
	if err := s.rdb.SAdd(ctx, indexKey, t.ID).Err(); err != nil {
		return Template{}, fmt.Errorf("templates: save %s: index: %w", t.ID, err)
	}
	k := keysFor(t.ID)
	res, err := s.save.Run(ctx, s.rdb, []string{k.cur, k.seq, k.hist},
		digest, tj, sj, s.opt.MaxVersions).Slice()
	if err != nil {
		return Template{}, fmt.Errorf("templates: save %s: %w", t.ID, err)
	}
	if len(res) != 2 {
		return Template{}, fmt.Errorf("templates: save %s: the script returned %d values, want 2", t.ID, len(res))
	}
	rec, _ := res[1].(string)
	return decodeRecord(t.ID, rec)
}

// contentDigest hashes what makes two versions different. encoding/json
// writes map keys sorted, so equal content always hashes the same.
func contentDigest(t *Template) (string, error) {
	b, err := json.Marshal(struct {
		Name     string           `json:"name"`
		Purpose  channels.Purpose `json:"purpose"`
		Channels Channels         `json:"channels"`
	}{t.Name, t.Purpose, t.Channels})
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
	return Template{ID: r.T.ID, Name: r.T.Name, Purpose: r.T.Purpose, Channels: r.T.Channels,
		Version: r.V, UpdatedAt: r.T.UpdatedAt, UpdatedBy: r.T.UpdatedBy}, nil
}

func checkID(id string) error {
	if !ValidID(id) {
		return &InvalidError{Problems: []Problem{{Path: "id",
			Message: fmt.Sprintf("must be 1 to 64 characters of a-z, 0-9, _ and -, got %q", truncateForMessage(id))}}}
	}
	return nil
}

// Get returns the current version of the template.
func (s *Store) Get(ctx context.Context, id string) (Template, error) {
	if err := checkID(id); err != nil {
		return Template{}, err
	}
	rec, err := s.rdb.HGet(ctx, keysFor(id).cur, "json").Result()
	if errors.Is(err, redis.Nil) {
		return Template{}, fmt.Errorf("%w: no template %q", ErrNotFound, id)
	}
	if err != nil {
		return Template{}, fmt.Errorf("templates: get %s: %w", id, err)
	}
	return decodeRecord(id, rec)
}

// GetVersion returns one version of the template, as a message that used
// it saw it. Versions older than the history keeps are ErrNotFound.
func (s *Store) GetVersion(ctx context.Context, id string, version int) (Template, error) {
	if err := checkID(id); err != nil {
		return Template{}, err
	}
	if version < 1 {
		return Template{}, &InvalidError{Problems: []Problem{{Path: "version", Message: fmt.Sprintf("must be 1 or more, got %d", version)}}}
	}
	k := keysFor(id)
	rec, err := s.version.Run(ctx, s.rdb, []string{k.cur, k.hist}, version).Text()
	if errors.Is(err, redis.Nil) {
		return Template{}, fmt.Errorf("%w: template %q has no version %d (never saved, or dropped by the history bound)",
			ErrNotFound, id, version)
	}
	if err != nil {
		return Template{}, fmt.Errorf("templates: get %s version %d: %w", id, version, err)
	}
	t, err := decodeRecord(id, rec)
	if err != nil {
		return Template{}, err
	}
	if t.Version != version {
		return Template{}, fmt.Errorf("templates: history of %s is out of order: found version %d where %d belongs", id, t.Version, version)
	}
	return t, nil
}

// Versions returns every kept version of the template, newest first.
func (s *Store) Versions(ctx context.Context, id string) ([]Template, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	recs, err := s.rdb.LRange(ctx, keysFor(id).hist, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("templates: versions of %s: %w", id, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: no template %q", ErrNotFound, id)
	}
	out := make([]Template, len(recs))
	for i, rec := range recs {
		if out[i], err = decodeRecord(id, rec); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// List returns a summary of every template's current version, by id.
func (s *Store) List(ctx context.Context) ([]Summary, error) {
	ids, err := s.rdb.SMembers(ctx, indexKey).Result()
	if err != nil {
		return nil, fmt.Errorf("templates: list: %w", err)
	}
	sort.Strings(ids)
	cmds := make([]*redis.StringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGet(ctx, keysFor(id).cur, "sum")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("templates: list: %w", err)
	}
	out := make([]Summary, 0, len(ids))
	for i, c := range cmds {
		rec, err := c.Result()
		if errors.Is(err, redis.Nil) {
			continue // indexed, but the save did not finish
		}
		if err != nil {
			return nil, fmt.Errorf("templates: list %s: %w", ids[i], err)
		}
		var r summaryRecord
		if err := json.Unmarshal([]byte(rec), &r); err != nil {
			return nil, fmt.Errorf("templates: stored summary of %s is corrupt: %w", ids[i], err)
		}
		out = append(out, Summary{ID: r.S.ID, Name: r.S.Name, Purpose: r.S.Purpose, Channels: r.S.Channels,
			Version: r.V, UpdatedAt: r.S.UpdatedAt, UpdatedBy: r.S.UpdatedBy})
	}
	return out, nil
}
