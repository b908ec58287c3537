package outreach

// messageKey holds one message's record. Each message is its own slot, so
// the record's scripts stay Cluster-safe.
func messageKey(id string) string { return "{m:" + id + "}" }
