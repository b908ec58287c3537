package dialogs

import "strconv"

// Redis keys. A contact's dialog keys carry the contacts package's hash tag
// {c:<id>}, so a script over them stays in the contact's Cluster slot. The
// deadline index and stored script sources are global.

// sessionKey is a hash: s = the running session (JSON), h = the hand-off
// that pauses the bot (JSON). Empty fields are deleted, and so is the key
// when both are.
func sessionKey(contactID string) string { return "{c:" + contactID + "}:dlg" }

// lockKey holds the token of the worker running a step for the contact.
func lockKey(contactID string) string { return "{c:" + contactID + "}:dlg:lock" }

// dueKey is a sorted set: contact id -> deadline (unix ms) of its session.
// An entry may be early or stale; Tick checks it against the session.
const dueKey = "dlg:due"

// sourceKey keeps the YAML of a script version a session started with, so
// the session can finish on it after a restart or reload.
func sourceKey(id string, version int) string {
	return "dlg:src:" + versionKey(id, version)
}

// versionKey names a script version: "welcome_survey@3".
func versionKey(id string, version int) string { return id + "@" + strconv.Itoa(version) }
