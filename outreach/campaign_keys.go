package outreach

// A campaign's keys share the hash tag {camp:<id>}, so its record, audience
// and statistics stay in one Cluster slot.

// campaignKey holds the campaign record: spec (JSON), status, progress.
func campaignKey(id string) string { return "{camp:" + id + "}" }

// campaignAudienceKey is the frozen audience: contact ids in dispatch order.
func campaignAudienceKey(id string) string { return "{camp:" + id + "}:aud" }

// campaignStatsKey counts messages by "<variant>|<channel>|<status>".
func campaignStatsKey(id string) string { return "{camp:" + id + "}:stats" }

// campaignSeenKey remembers which messages' reactions were counted.
func campaignSeenKey(id string) string { return "{camp:" + id + "}:seen" }

// campaignsIndexKey is a sorted set of every campaign id by creation time
// (unix ms), so the console lists campaigns without scanning keys. It is
// its own slot; Create adds to it after the record exists.
const campaignsIndexKey = "{camps}:index"
