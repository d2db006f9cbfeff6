//go:build !unix

package finetune

import "errors"

func processAlive(int) bool { return false }

// Interrupt is not supported off Unix: stop the job with Ctrl-C in its
// terminal instead.
func Interrupt(int) error {
	return errors.New("cancelling a job from another process needs a Unix system; press Ctrl-C where it runs")
}
