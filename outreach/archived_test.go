package outreach

import (
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/journeygate/gateway/channels"
)

func TestArchivedTasksAreListed(t *testing.T) {
	f := newFixture(t, newRecorder(channels.SMS))
	f.startWorkers(t, 1)
	// A task for a message that has no record is given up at once.
	client := asynq.NewClientFromRedisClient(f.rdb)
	defer client.Close()
	if _, err := client.Enqueue(asynq.NewTask(taskSend, []byte(`{"id":"ghost"}`)), asynq.TaskID("ghost")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := f.pipe.Archived(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			if got[0].MessageID != "ghost" || got[0].Queue != QueueDefault || got[0].LastError == "" {
				t.Errorf("archived = %+v", got[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("archived tasks = %+v, want the ghost task", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
