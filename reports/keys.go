package reports

// Keys. Each report's daily hashes share one hash tag per dimension
// ({rpt:funnel}, {rpt:camp}, {rpt:chan}, {rpt:handoff}), so a query over a
// period is one pipeline to one Cluster node, and each day of a dimension
// is its own small hash. Per-contact state carries the contact's own tag
// {c:<id>}, so it sits in the contact's slot and its script stays
// Cluster-safe.

// funnelDayKey counts stage entries and time-in-stage buckets of one day for
// one source ("*" for all sources).
func funnelDayKey(day, source string) string { return "{rpt:funnel}:" + day + ":" + source }

// funnelSourcesKey is the set of sources ever recorded, for pickers.
func funnelSourcesKey() string { return "{rpt:funnel}:sources" }

// campaignDayKey counts "<campaign>|<stat>" for one day.
func campaignDayKey(day string) string { return "{rpt:camp}:" + day }

// campaignCostKey maps a campaign id to its entered cost (cents).
func campaignCostKey() string { return "{rpt:camp}:cost" }

// campaignsKey is the set of campaigns with any report data.
func campaignsKey() string { return "{rpt:camp}:ids" }

// channelDayKey counts "<channel>|<stat>" for one day.
func channelDayKey(day string) string { return "{rpt:chan}:" + day }

// handoffDayKey counts "<rep>|<stat>" and follow-up buckets for one day.
func handoffDayKey(day string) string { return "{rpt:handoff}:" + day }

// contactStateKey holds what reports remember of one contact: source,
// current stage and since when, last message and last campaign touch.
func contactStateKey(contactID string) string { return "{c:" + contactID + "}:rpt" }

// reactionSeenKey remembers which reactions of one message were counted.
func reactionSeenKey(messageID string) string { return "{rpt:r:" + messageID + "}" }

// orderSeenKey makes an order count once, whether a coupon redemption or an
// order_paid event reports it (or both).
func orderSeenKey(orderID string) string { return "{rpt:o:" + orderID + "}" }
