package outreach

// capKeyPrefix starts every cap key of one contact. The hash tag {c:<id>} is
// the one the contacts package uses, so a contact's caps share its Cluster
// slot and one script can check them all.
func capKeyPrefix(contactID string) string { return "{c:" + contactID + "}:cap:" }

// capKey is the sorted set of one rule's sends to one contact; a per-campaign
// rule keeps one set per campaign. Rule names hold no ':', so the campaign
// suffix cannot make two rules' keys collide.
func capKey(prefix, rule, campaign string) string {
	if campaign == "" {
		return prefix + rule
	}
	return prefix + rule + ":" + campaign
}
