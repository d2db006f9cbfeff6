//go:build unix

package finetune

import (
	"errors"
	"syscall"
)

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Interrupt asks a running local job to stop at its next step; it saves a
// checkpoint and marks itself cancelled or interrupted.
func Interrupt(pid int) error { return syscall.Kill(pid, syscall.SIGINT) }
