package templates

import (
	"fmt"

	"github.com/journeygate/gateway/channels"
)

// cacheKey names one channel body of one saved version.
type cacheKey struct {
	id      string
	version int
	ch      channels.Channel
	alt     string // the locale and variant bodies used
}

// cacheEntry keeps the sources it was parsed from: a template edited
// outside the Store (a test, a reset Redis) with a reused id and version
// must not render stale text.
type cacheEntry struct {
	specs []fieldSpec
	progs []*program
}

func (e *cacheEntry) matches(specs []fieldSpec) bool {
	if len(specs) != len(e.specs) {
		return false
	}
	for i := range specs {
		if specs[i].path != e.specs[i].path || specs[i].src != e.specs[i].src {
			return false
		}
	}
	return true
}

// programs returns the parsed fields, from the cache for saved versions.
func (r *Renderer) programs(t *Template, ch channels.Channel, specs []fieldSpec, alt string) ([]*program, error) {
	cacheable := t.ID != "" && t.Version > 0
	key := cacheKey{id: t.ID, version: t.Version, ch: ch, alt: alt}
	if cacheable {
		if v, ok := r.cache.Load(key); ok {
			if e := v.(*cacheEntry); e.matches(specs) {
				return e.progs, nil
			}
		}
	}
	progs := make([]*program, len(specs))
	for i := range specs {
		p, err := compile(specs[i].path, specs[i].src, specs[i].html, r.funcs)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrRender, specs[i].path, err)
		}
		progs[i] = p
	}
	if cacheable {
		if r.cached.Add(1) > int64(r.opt.MaxCached) {
			r.cache.Clear()
			r.cached.Store(1)
		}
		r.cache.Store(key, &cacheEntry{specs: specs, progs: progs})
	}
	return progs, nil
}
