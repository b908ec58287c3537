package gateway

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/redis/go-redis/v9"
)

// The gateway's Redis locks (the lifecycle sweep, 微信客服 pulls) are a key
// set NX with a random token and an expiry; only the holder of the token
// may give the lock up.

// lockToken is a new holder's token.
func lockToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// releaseLock deletes a lock only while this holder still has it.
//
// KEYS: 1 the lock
// ARGV: 1 this holder's token
// Returns 1 when deleted, 0 when another holder has it (or it expired).
var releaseLock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
