package gateway

// Keys of the inbox: events that name no customer (member messages to the app,
// WeCom tag changes, 微信客服 pull signals), kept in one stream for the workers
// that act on them. Both keys share a hash tag so one script touches both.
const inboxStreamKey = "{inbox}:events"

func inboxSeenKey(eventID string) string { return "{inbox}:seen:" + eventID }

// Keys of the 微信客服 puller. kfGroup is its consumer group on the inbox
// stream. Per account (open_kfid), the sync_msg cursor, the lock of the one
// process pulling it, and the flag a signal leaves while the lock is held
// share a hash tag, so the puller's scripts touch them in one slot.
const kfGroup = "kf"

func kfCursorKey(openKFID string) string { return "{kf:" + openKFID + "}:cursor" }
func kfLockKey(openKFID string) string   { return "{kf:" + openKFID + "}:lock" }
func kfAgainKey(openKFID string) string  { return "{kf:" + openKFID + "}:again" }

// The catch-up pull: the accounts seen in signals, and when the next pull of
// all of them is due (unix ms), under one hash tag of their own.
const (
	kfAccountsKey = "{kf}:accounts"
	kfCatchUpKey  = "{kf}:catchup"
)

// auditStreamKey is the audit log: one stream entry per change made
// through the API, capped at about auditMax entries.
const auditStreamKey = "{audit}:log"

// sweepLockKey is held by the process running the lifecycle sweeps, so
// several gateways do not repeat each other's work (the sweeps are safe to
// run concurrently; the lock only saves effort).
const sweepLockKey = "{sweep}:lock"
