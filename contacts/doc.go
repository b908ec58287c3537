// Package contacts keeps the state of every customer in Redis: the
// identities a customer is known by (phone, email, openid, unionid,
// external_userid), tags, lifecycle stage, activity, lead score, owner,
// consent per channel and a bounded timeline.
//
// A contact's id is derived from the first identity ever seen for it (see
// IDFor), so an inbound event finds its contact's Redis slot without a lookup
// and is applied in one EVALSHA. Every key of one contact shares the hash tag
// {c:<id>}, so each script touches a single slot and works on one server,
// Sentinel and Cluster alike.
//
// When one change names identities of two or more contacts, they are merged:
// the oldest contact survives and the others become links to it. A merge
// spans several slots, so it is a sequence of single-slot scripts ordered so
// that a crash at any point loses nothing (see Store.Apply).
package contacts
