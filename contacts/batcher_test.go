package contacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
)

// queuedApplies starts n Applies of change on f while every lane is held,
// waits until all n are queued, and returns a function that frees the
// lanes and waits for the results.
func queuedApplies(t *testing.T, f *fixture, n int, change func(i int) Change) func() ([]Result, []error) {
	t.Helper()
	b := f.store.applies
	for range cap(b.lanes) {
		b.lanes <- struct{}{}
	}
	results, errs := make([]Result, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.store.Apply(f.ctx, change(i))
		}()
	}
	waitQueued(t, b, n)
	return func() ([]Result, []error) {
		for range cap(b.lanes) {
			<-b.lanes
		}
		wg.Wait()
		return results, errs
	}
}

func waitQueued(t *testing.T, b *scriptBatcher, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		queued := len(b.queue)
		b.mu.Unlock()
		if queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued after 5s; want %d", queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConcurrentAppliesShareOneTrip(t *testing.T) {
	f := newFixture(t, Options{IndexFlush: time.Hour})
	if err := f.store.applies.script.Load(f.ctx, f.rdb).Err(); err != nil {
		t.Fatal(err)
	}
	trips := &scriptTrips{}
	f.rdb.AddHook(trips)
	const n = 40
	p := phone("13800000000")
	finish := queuedApplies(t, f, n, func(int) Change {
		// No event id: a change applied twice would count twice.
		return Change{Identities: []Identity{p}, ScoreDelta: 1, Touch: true}
	})
	results, errs := finish()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := trips.n.Load(); got != 1 {
		t.Errorf("%d queued Applies took %d round trips; want 1 shared pipeline", n, got)
	}
	created, scores := 0, map[int]bool{}
	for _, r := range results {
		if r.Created {
			created++
		}
		scores[r.Score] = true
	}
	if created != 1 || len(scores) != n {
		t.Errorf("results: %d created (want 1), %d distinct scores (want %d): each caller must get its own call's result", created, len(scores), n)
	}
	if got := f.get(t, IDFor(p)).Score; got != n {
		t.Errorf("score after %d shared Applies of +1 = %d; want each applied once", n, got)
	}
}

func TestMoreQueuedThanOnePipelineCarries(t *testing.T) {
	f := newFixture(t, Options{IndexFlush: time.Hour})
	n := 3*maxApplyBatch + 5
	p := phone("13800000003")
	f.apply(t, Change{Identities: []Identity{p}})
	finish := queuedApplies(t, f, n, func(int) Change {
		return Change{Identities: []Identity{p}, ScoreDelta: 1}
	})
	done := make(chan []error)
	go func() { _, errs := finish(); done <- errs }()
	select {
	case errs := <-done:
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%d queued Applies (pipelines carry %d) did not all finish within 10s", n, maxApplyBatch)
	}
	if got := f.get(t, IDFor(p)).Score; got != n {
		t.Errorf("score after %d Applies of +1 = %d; want each applied once", n, got)
	}
}

// A caller that leads a pipeline without its own call in it (more was
// queued ahead) must send its call later itself: the callers ahead of it
// may all be waiting only for their results.
func TestLeaderWhoseCallWasLeftBehindSendsItLater(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	b := newScriptBatcher(rdb, "return redis.call('INCR', KEYS[1])", 1, 1) // one lane, one call per pipeline
	ahead := &batchedCall{keys: []string{"n"}, done: make(chan struct{})}
	b.queue = append(b.queue, ahead) // its caller waits only for its result
	got := make(chan error)
	go func() {
		_, err := b.run(ctx, []string{"n"})
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the caller's own call was never sent after it led the call queued ahead of it")
	}
	<-ahead.done
	if err := ahead.cmd.Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Get(ctx, "n").Int(); n != 2 {
		t.Errorf("the script ran %d times for 2 calls", n)
	}
}

func TestSharedTripAfterScriptFlushAppliesEachOnce(t *testing.T) {
	f := newFixture(t, Options{IndexFlush: time.Hour})
	p := phone("13800000001")
	f.apply(t, Change{Identities: []Identity{p}})
	if err := f.rdb.ScriptFlush(f.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	const n = 10
	finish := queuedApplies(t, f, n, func(int) Change {
		return Change{Identities: []Identity{p}, ScoreDelta: 1}
	})
	_, errs := finish()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, IDFor(p)).Score; got != n {
		t.Errorf("score after %d Applies of +1 that met NOSCRIPT = %d; want each applied once", n, got)
	}
}

func TestQueuedApplyGivesUpWithItsContext(t *testing.T) {
	f := newFixture(t, Options{IndexFlush: time.Hour})
	p := phone("13800000002")
	f.apply(t, Change{Identities: []Identity{p}})
	b := f.store.applies
	for range cap(b.lanes) {
		b.lanes <- struct{}{}
	}
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error)
	go func() {
		_, err := f.store.Apply(ctx, Change{Identities: []Identity{p}, ScoreDelta: 5})
		done <- err
	}()
	waitQueued(t, b, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Apply cancelled while queued = %v; want context.Canceled", err)
	}
	for range cap(b.lanes) {
		<-b.lanes
	}
	waitQueued(t, b, 0)
	if got := f.get(t, IDFor(p)).Score; got != 0 {
		t.Errorf("score = %d after the cancelled Apply; want 0 (it never ran)", got)
	}
}

// scriptTrips counts the round trips that carry script calls (a new
// connection's handshake is a trip too, but not one of ours).
type scriptTrips struct{ n atomic.Int64 }

func (h *scriptTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *scriptTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (h *scriptTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.count(cmds)
		return next(ctx, cmds)
	}
}

func (h *scriptTrips) count(cmds []redis.Cmder) {
	for _, c := range cmds {
		if n := c.Name(); n == "evalsha" || n == "eval" {
			h.n.Add(1)
			return
		}
	}
}

// A call whose reply does not come in time may still have run: it must not
// be sent again (that would apply it twice); its caller gets the error.
func TestApplyWhoseReplyIsLateIsNotSentAgain(t *testing.T) {
	srv := redistest.Start(t)
	proxy := newLaggingProxy(t, srv.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.addr, ReadTimeout: 100 * time.Millisecond, PoolSize: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	store, err := NewStore(rdb, Options{IndexFlush: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := phone("13800000004")
	if _, err := store.Apply(ctx, Change{Identities: []Identity{p}}); err != nil {
		t.Fatal(err)
	}
	// The connection in use now gets its replies 300 ms late: the change
	// runs in Redis at once, and its reply misses the read timeout. A new
	// connection (a retry's) would be answered at once.
	proxy.lagOpenConns(300 * time.Millisecond)
	if _, err := store.Apply(ctx, Change{Identities: []Identity{p}, ScoreDelta: 1}); err == nil {
		t.Error("Apply whose reply came after the read timeout succeeded; want its error")
	}
	direct := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = direct.Close() })
	if score, err := direct.HGet(ctx, keysFor(IDFor(p)).hash, "score").Int(); err != nil || score != 1 {
		t.Errorf("score = %d, %v after one +1 change whose reply was late; want 1 (it ran once, and was not sent again)", score, err)
	}
}

// laggingProxy forwards TCP to Redis and can hold back the replies on the
// connections open at a given moment.
type laggingProxy struct {
	addr string
	mu   sync.Mutex
	open []*lagConn
}

type lagConn struct{ lag atomic.Int64 } // nanoseconds to hold each reply back

func newLaggingProxy(t *testing.T, target string) *laggingProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	p := &laggingProxy{addr: l.Addr().String()}
	go func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				_ = client.Close()
				continue
			}
			lc := &lagConn{}
			p.mu.Lock()
			p.open = append(p.open, lc)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(server, client); _ = server.Close() }()
			go func() {
				defer client.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := server.Read(buf)
					if n > 0 {
						time.Sleep(time.Duration(lc.lag.Load()))
						if _, err := client.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return p
}

func (p *laggingProxy) lagOpenConns(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.open {
		c.lag.Store(int64(d))
	}
}

func TestNeverRan(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"none", nil, false},
		{"script missing", replyErr("NOSCRIPT No matching script."), true},
		{"slot moving", replyErr("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{"loading", replyErr("LOADING Redis is loading the dataset in memory"), true},
		{"no connection", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{"pool exhausted", redis.ErrPoolTimeout, true},
		{"reply lost", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("i/o timeout")}, false},
		{"script failed", replyErr("ERR user_script:1: Script attempted to access nonexistent global variable"), false},
		{"cancelled", context.Canceled, false},
	}
	for _, tt := range tests {
		if got := neverRan(tt.err); got != tt.want {
			t.Errorf("%s: neverRan(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// replyErr is an error reply from Redis, as go-redis hands it over.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

// A panic while a pipeline is sent (a hook, say) reaches its leader; the
// other callers in it get an error instead of waiting for ever, and the
// lane is free again.
func TestPanicInAPipelineFreesItsLaneAndCallers(t *testing.T) {
	rdb := redistest.Client(t)
	var boom atomic.Bool
	rdb.AddHook(panicHook{&boom})
	b := newScriptBatcher(rdb, "return redis.call('INCR', KEYS[1])", 1, 2)
	ctx := context.Background()
	b.lanes <- struct{}{}
	results := make(chan error, 2)
	for i := range 2 {
		go func() {
			defer func() {
				if r := recover(); r != nil {
					results <- fmt.Errorf("panic: %v", r)
				}
			}()
			_, err := b.run(ctx, []string{"n"})
			results <- err
		}()
		waitQueued(t, b, i+1)
	}
	boom.Store(true)
	<-b.lanes
	for range 2 {
		select {
		case err := <-results:
			if err == nil {
				t.Error("a call in a pipeline that panicked succeeded")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a caller in a pipeline that panicked still waits")
		}
	}
	boom.Store(false)
	done := make(chan error)
	go func() { _, err := b.run(ctx, []string{"n"}); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the lane of the pipeline that panicked is still held")
	}
}

type panicHook struct{ on *atomic.Bool }

func (h panicHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h panicHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.on.Load() {
			panic("hook failed")
		}
		return next(ctx, cmd)
	}
}

func (h panicHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.on.Load() {
			panic("hook failed")
		}
		return next(ctx, cmds)
	}
}
