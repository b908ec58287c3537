package outreach

// Keys of rep duty: all under the {handoff} hash tag, so handoff_pick.lua
// touches them in one Cluster slot.

// repLoadKey counts the leads rep took on the shift that started on day
// (YYYY-MM-DD in the rep's time zone).
func repLoadKey(rep, day string) string { return "{handoff}:load:" + rep + ":" + day }

// waitingKey orders the contacts waiting for a rep on duty by when they
// started waiting (unix ms); waitingInfoKey holds why each was handed off
// and whether the team lead was told.
const (
	waitingKey     = "{handoff}:waiting"
	waitingInfoKey = "{handoff}:waiting:info"
)
