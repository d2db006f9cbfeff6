package server

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestHeapFloor(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name  string
		holds []int64 // floors asked for by servers open at once
		want  int64   // the floor held while all are open
	}{
		{"one server", []int64{64 * mib}, 64 * mib},
		{"the largest of two wins", []int64{16 * mib, 96 * mib}, 96 * mib},
		{"a smaller second keeps the first", []int64{96 * mib, 16 * mib}, 96 * mib},
		{"none asked", []int64{-1}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var releases []func()
			for _, n := range tc.holds {
				releases = append(releases, holdHeapFloor(n))
			}
			if got := int64(len(floor.ballast)); got != tc.want {
				t.Fatalf("floor %d MiB while held, want %d MiB", got/mib, tc.want/mib)
			}
			if tc.want > 0 {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				// The collector counts the floor as live, so its next goal
				// lies beyond it: that is the point of holding one.
				if int64(ms.NextGC) < tc.want {
					t.Errorf("next GC at %d MiB, want beyond the %d MiB floor", ms.NextGC/mib, tc.want/mib)
				}
			}
			releases[0]()
			releases[0]() // a second release of the same hold is a no-op
			if len(tc.holds) > 1 && floor.ballast == nil {
				t.Errorf("floor dropped while a server still holds it")
			}
			for _, r := range releases[1:] {
				r()
			}
			if floor.ballast != nil || floor.users != 0 {
				t.Errorf("floor still held after every release: %d bytes, %d users", len(floor.ballast), floor.users)
			}
		})
	}
}

// TestHeapFloorCostsNoMemory checks the floor's premise on Linux: memory
// the kernel gave the heap but nobody wrote is not resident. It runs in a
// fresh process, as `tunelab serve` is: in this test binary, earlier tests
// leave freed heap that a new floor may reuse, and reused memory is zeroed.
func TestHeapFloorCostsNoMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/statm")
	}
	if os.Getenv("TUNELAB_HEAPFLOOR_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHeapFloorCostsNoMemory$", "-test.count=1")
		cmd.Env = append(os.Environ(), "TUNELAB_HEAPFLOOR_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("fresh process: %v\n%s", err, out)
		}
		return
	}
	before := residentBytes(t)
	release := holdHeapFloor(256 << 20)
	defer release()
	if grew := residentBytes(t) - before; grew > 64<<20 {
		t.Errorf("resident memory grew %d MiB for a 256 MiB floor, want far less", grew>>20)
	}
}

func residentBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}
