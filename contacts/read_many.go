package contacts

import (
	"context"
	"errors"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// GetMany is Get for many contacts in one round trip (one pipeline of
// read.lua, one per contact's slot), so a campaign batch can look at its
// contacts without a round trip each. A merged contact's link is followed
// with Get, as rare as merges are. Results and errors are in the order of
// ids; an unknown contact has an error wrapping ErrNotFound.
func (s *Store) GetMany(ctx context.Context, ids []string) ([]*Contact, []error) {
	out := make([]*Contact, len(ids))
	errs := make([]error, len(ids))
	if len(ids) == 0 {
		return out, errs
	}
	cmds := make([]*redis.Cmd, len(ids))
	pipe := s.rdb.Pipeline()
	for i, id := range ids {
		if validID(id) {
			cmds[i] = s.read.EvalSha(ctx, pipe, keysFor(id).list(), strconv.Itoa(-1), boolArg(true), "0")
		}
	}
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(ctx) // each command carries its own error
	}
	for i, id := range ids {
		cmd := cmds[i]
		if cmd == nil || errors.Is(cmd.Err(), redis.ErrNoScript) || redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			out[i], errs[i] = s.Get(ctx, id) // loads the script, or says why the id is bad
			continue
		}
		v, err := cmd.Result()
		if err != nil {
			out[i], errs[i] = s.Get(ctx, id)
			continue
		}
		r, err := asReply(v, 7)
		if err != nil {
			errs[i] = err
			continue
		}
		if r.str(0) == "redirect" || r.pairs(2)["created_at"] == "" {
			out[i], errs[i] = s.Get(ctx, id) // a merged contact, or none: Get follows or says so
			continue
		}
		out[i] = s.contactOf(id, r)
	}
	return out, errs
}
