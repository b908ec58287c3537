package gateway

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// redisReply stands in for an error reply from Redis (go-redis keeps its own
// type internal); anything with RedisError() is one.
type redisReply string

func (e redisReply) Error() string { return string(e) }
func (redisReply) RedisError()     {}

// A Redis restarted mid-run (the fault run kills and restarts it) answers
// LOADING while it reads its AOF; requests then must get 503 so platforms
// and clients retry, not a 500 that reads as a bug.
func TestClassifyRedisBrieflyUnavailable(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("contacts: apply change to c1: %w", redisReply("LOADING Redis is loading the dataset in memory")), "storage_unavailable"},
		{fmt.Errorf("outreach: %w", redisReply("TRYAGAIN Multiple keys request during rehashing of slot")), "storage_unavailable"},
		{redisReply("CLUSTERDOWN The cluster is down"), "storage_unavailable"},
		{fmt.Errorf("contacts: read: %w", io.EOF), "storage_unavailable"},
		{fmt.Errorf("outreach: claim: %w", io.ErrUnexpectedEOF), "storage_unavailable"},
		{redisReply("ERR unknown command 'FOO'"), "internal"},
		{redisReply("CROSSSLOT Keys in request don't hash to the same slot"), "internal"},
		{errors.New("LOADING but not from Redis"), "internal"},
	}
	for _, tt := range tests {
		kind, _ := classify(tt.err)
		if diff := cmp.Diff(tt.want, kind.Name); diff != "" {
			t.Errorf("classify(%v) (-want +got):\n%s", tt.err, diff)
		}
	}
}
