// An errgroup-shaped group written with Go's standard library only, measured on the shapes of
// benches/task_group.rs: sync.WaitGroup for the count, sync.Once for the first error, a
// buffered channel as the limit, a context cancelled on the first error and when Wait returns
// (which is how golang.org/x/sync/errgroup works; this is not that code).
//
// benches/task_group.rs builds this with `go test -c` and runs one benchmark per round, so
// its rounds alternate with the Rust ones; by hand:
//
//	cd benches/go && go test -run '^$' -bench . -cpu 1,2 -benchtime 20x
//
// Each benchmark iteration is one round (all tasks spawned, then one Wait), like a Rust round;
// ns/op is per round, and ns/task is ns/op divided by the tasks of a round.
package errgroupbench

import (
	"context"
	"sync"
	"testing"
)

type group struct {
	wg      sync.WaitGroup
	sem     chan struct{}
	errOnce sync.Once
	err     error
	cancel  context.CancelCauseFunc
}

func withContext(ctx context.Context) (*group, context.Context) {
	ctx, cancel := context.WithCancelCause(ctx)
	return &group{cancel: cancel}, ctx
}

func (g *group) setLimit(n int) { g.sem = make(chan struct{}, n) }

func (g *group) goTask(f func() error) {
	if g.sem != nil {
		g.sem <- struct{}{}
	}
	g.wg.Add(1)
	go func() {
		defer g.done()
		if err := f(); err != nil {
			g.errOnce.Do(func() {
				g.err = err
				if g.cancel != nil {
					g.cancel(err)
				}
			})
		}
	}()
}

func (g *group) done() {
	if g.sem != nil {
		<-g.sem
	}
	g.wg.Done()
}

func (g *group) wait() error {
	g.wg.Wait()
	if g.cancel != nil {
		g.cancel(g.err)
	}
	return g.err
}

var sink int

// One round: tasks goroutines, each storing its index in its own slot (values in submission
// order, as TaskGroup's wait returns them), then one wait.
func round(tasks, limit int, ctx bool, out []int) {
	var g *group
	if ctx {
		g, _ = withContext(context.Background())
	} else {
		g = &group{}
	}
	if limit > 0 {
		g.setLimit(limit)
	}
	for i := 0; i < tasks; i++ {
		g.goTask(func() error {
			out[i] = i
			return nil
		})
	}
	if err := g.wait(); err != nil {
		panic(err)
	}
	sink += out[tasks-1]
}

func bench(b *testing.B, tasks, limit int, ctx bool) {
	out := make([]int, tasks)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		round(tasks, limit, ctx, out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tasks), "ns/task")
}

// The async shape ("async", 10,000 tasks per round) and the thread shape ("threads", 100),
// each plain (errgroup.Group), with the context (errgroup.WithContext) and with a limit of 2
// (SetLimit(2)). Names without a slash, so `-bench '^BenchmarkErrgroup$/^threads$'` picks one.
func BenchmarkErrgroup(b *testing.B) {
	for _, shape := range []struct {
		name  string
		tasks int
	}{{"async", 10_000}, {"threads", 100}} {
		tasks := shape.tasks
		b.Run(shape.name, func(b *testing.B) { bench(b, tasks, 0, false) })
		b.Run(shape.name+"_ctx", func(b *testing.B) { bench(b, tasks, 0, true) })
		b.Run(shape.name+"_limit2", func(b *testing.B) { bench(b, tasks, 2, false) })
	}
}
