package transfer

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// Task types on the asynq queue.
const (
	TaskImport = "transfer:import"
	TaskExport = "transfer:export"
)

// Job statuses. An import goes queued → validating (first pass, nothing
// written) → importing → done, or to failed from any of them; an export
// goes queued → exporting → done or failed.
const (
	StatusQueued     = "queued"
	StatusValidating = "validating"
	StatusImporting  = "importing"
	StatusExporting  = "exporting"
	StatusDone       = "done"
	StatusFailed     = "failed"
)

// Defaults of the options.
const (
	DefaultUploadLimit = 20 << 20
	DefaultRetention   = 7 * 24 * time.Hour
	DefaultWorkers     = 8
	// jobTimeout bounds one attempt of a job; asynq hands an attempt that
	// outlives it (or whose process died) to another worker, which resumes.
	jobTimeout = 2 * time.Hour
	jobRetries = 10
)

// newJobID returns 16 hex characters from crypto/rand: unguessable, so a
// job id does not leak the existence of other jobs.
func newJobID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validJobID keeps ids that newJobID could not have made out of Redis keys.
func validJobID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

type taskPayload struct {
	Job string `json:"job"`
}

func jobTask(typ, id, queue string) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(taskPayload{Job: id})
	return asynq.NewTask(typ, payload), []asynq.Option{asynq.TaskID(typ + ":" + id), asynq.Queue(queue),
		asynq.MaxRetry(jobRetries), asynq.Timeout(jobTimeout), asynq.Retention(time.Hour)}
}

func taskJob(t *asynq.Task) (string, error) {
	var p taskPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || !validJobID(p.Job) {
		return "", fmt.Errorf("transfer: bad task payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	return p.Job, nil
}

// hashInt reads a counter of a job hash ("" is 0).
func hashInt(h map[string]string, k string) int {
	n, _ := strconv.Atoi(h[k])
	return n
}

func hashTime(h map[string]string, k string) time.Time {
	ms, err := strconv.ParseInt(h[k], 10, 64)
	if err != nil || ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func msString(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
