package server

import "sync"

// A gateway keeps a live heap of a few MiB yet allocates some KiB per call,
// so with Go's default GOGC=100 it collects every few MiB: at 1,000 calls/s
// on 2 cores that was about two collections a second, each taking one of
// the two cores for about 4 ms, and the calls that arrived meanwhile made
// the p99 (bench/gateway measured the added p99 falling from 3-4 ms to
// about 2 ms with a floor). Go has no setting for a minimum heap goal; a
// pointer-free allocation that is never touched gives one: the collector
// counts it as live, so the next collection comes only after about as many
// bytes again are allocated, while it costs no marking, and the kernel
// gives it no memory until it is written, which it never is. (A floor
// carved from heap that was in use before is zeroed, and so resident; in
// `tunelab serve` it is taken at start, from fresh memory.)
//
// One floor serves every Server in the process: the largest asked for is
// held while any server is open.

var floor struct {
	sync.Mutex
	users   int
	ballast []byte
}

// holdHeapFloor raises the process's heap floor to at least n bytes until
// the returned function is called.
func holdHeapFloor(n int64) (release func()) {
	if n <= 0 {
		return func() {}
	}
	floor.Lock()
	defer floor.Unlock()
	floor.users++
	if int64(len(floor.ballast)) < n {
		floor.ballast = make([]byte, n)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			floor.Lock()
			defer floor.Unlock()
			if floor.users--; floor.users == 0 {
				floor.ballast = nil
			}
		})
	}
}
