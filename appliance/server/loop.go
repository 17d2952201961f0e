package server

import (
	"context"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/pool"
)

// kicker wakes a background loop: Kick asks for a round now.
type kicker chan struct{}

func newKicker() kicker { return make(kicker, 1) }

// Kick asks for a round now (a round already asked for is enough).
func (k kicker) Kick() {
	select {
	case k <- struct{}{}:
	default:
	}
}

// eachPool runs round for every pool, at once (kicked) and then every
// minute or when kicked, until stop closes; ctx ends at stop, and a round
// stops early when it does. It is the scrubber's and the rebuilder's loop.
func eachPool(stop <-chan struct{}, wg *sync.WaitGroup, pools []*pool.Pool, k kicker, firstKicked bool,
	start func(ctx context.Context) bool, round func(ctx context.Context, p *pool.Pool, kicked bool)) {
	defer wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-stop
		cancel()
	}()
	if start != nil && !start(ctx) {
		return
	}
	kicked := firstKicked
	for {
		for _, p := range pools {
			if ctx.Err() != nil {
				return
			}
			round(ctx, p, kicked)
		}
		kicked = false
		t := time.NewTimer(time.Minute)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-k:
			kicked = true
		case <-t.C:
		}
		t.Stop()
	}
}

// statusOf copies per-pool statuses in the pools' order.
func statusOf[T any](mu *sync.Mutex, pools []*pool.Pool, m map[string]*T) []T {
	mu.Lock()
	defer mu.Unlock()
	out := make([]T, 0, len(pools))
	for _, p := range pools {
		out = append(out, *m[p.Name()])
	}
	return out
}
