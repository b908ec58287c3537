package gateway

// Keys of the inbox: events that name no customer (member messages to the app,
// WeCom tag changes, 微信客服 pull signals), kept in one stream for the workers
// that act on them. Both keys share a hash tag so one script touches both.
const inboxStreamKey = "{inbox}:events"

func inboxSeenKey(eventID string) string { return "{inbox}:seen:" + eventID }

// auditStreamKey is the audit log: one stream entry per change made
// through the API, capped at about auditMax entries.
const auditStreamKey = "{audit}:log"

// sweepLockKey is held by the process running the lifecycle sweeps, so
// several gateways do not repeat each other's work (the sweeps are safe to
// run concurrently; the lock only saves effort).
const sweepLockKey = "{sweep}:lock"
