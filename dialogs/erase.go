package dialogs

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Erase removes a contact's dialog state for an erasure request: the
// running session, the hand-off that pauses the bot, the step lock and the
// session's deadline entry. It reports how many of them existed and is
// safe to repeat. Stored script sources hold no personal data and stay.
func (e *Engine) Erase(ctx context.Context, contactID string) (int, error) {
	if contactID == "" {
		return 0, fmt.Errorf("dialogs: Erase needs a contact id: %w", ErrInvalidInbound)
	}
	return EraseContact(ctx, e.rdb, contactID)
}

// EraseContact is Erase for a gateway that runs no dialog engine: scripts
// may have run for the contact before they were switched off.
func EraseContact(ctx context.Context, rdb redis.UniversalClient, contactID string) (int, error) {
	var del, rem *redis.IntCmd
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, sessionKey(contactID), lockKey(contactID)) // one slot: {c:<id>}
		rem = p.ZRem(ctx, dueKey, contactID)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("dialogs: erase contact %s: %w", contactID, err)
	}
	return int(del.Val() + rem.Val()), nil
}

// StoredSession returns a contact's raw dialog fields (the session and
// the hand-off, as JSON), for an access request on a gateway that runs no
// engine; nil when there are none.
func StoredSession(ctx context.Context, rdb redis.UniversalClient, contactID string) (map[string]string, error) {
	h, err := rdb.HGetAll(ctx, sessionKey(contactID)).Result()
	if err != nil {
		return nil, fmt.Errorf("dialogs: read session of %s: %w", contactID, err)
	}
	if len(h) == 0 {
		return nil, nil
	}
	return h, nil
}
