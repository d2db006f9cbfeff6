package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium, skipping the test when there is none
// unless TUNELAB_REQUIRE_CHROMIUM=1 (CI), where a missing browser fails.
// Script errors on the page are collected into the returned func.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("TUNELAB_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("TUNELAB_REQUIRE_CHROMIUM=1 but %s is missing: apt-get install chromium", chromiumPath)
		}
		t.Skipf("no %s (apt-get install chromium); set TUNELAB_REQUIRE_CHROMIUM=1 to fail instead", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	// A bound on the whole browser session; each step has its own, shorter.
	ctx, cancelC := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	// Collect what the page reports as broken: uncaught exceptions and
	// console errors (a failed request, a React warning of a bad render).
	var mu sync.Mutex
	var errs []string
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				mu.Lock()
				errs = append(errs, m.String())
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// checkScreenshot decodes a PNG and requires that it shows something: a
// blank or single-colour page has (almost) no variance in brightness.
func checkScreenshot(b []byte) error {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("decode screenshot: %w", err)
	}
	r := img.Bounds()
	if r.Dx() < 200 || r.Dy() < 200 {
		return fmt.Errorf("screenshot is %dx%d, too small", r.Dx(), r.Dy())
	}
	var n, sum, sumSq float64
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			l := float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			n++
			sum += l
			sumSq += l * l
		}
	}
	mean := sum / n
	variance := sumSq/n - mean*mean
	// Text on a plain page gives a variance in the hundreds; a blank one, 0.
	if variance < 50 {
		return fmt.Errorf("screenshot looks blank: brightness variance %.1f (mean %.0f)", variance, mean)
	}
	return nil
}

func TestCheckScreenshot(t *testing.T) {
	encode := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	blank := image.NewGray(image.Rect(0, 0, 400, 300))
	for i := range blank.Pix {
		blank.Pix[i] = 0xf6
	}
	text := image.NewGray(image.Rect(0, 0, 400, 300))
	for i := range text.Pix {
		text.Pix[i] = 0xff
		if (i/400)%20 < 8 && i%7 < 3 { // rows of dark strokes, like lines of text
			text.Pix[i] = 0x20
		}
	}
	for _, tc := range []struct {
		name    string
		png     []byte
		wantErr string
	}{
		{"blank page", encode(blank), "looks blank"},
		{"page with text", encode(text), ""},
		{"tiny image", encode(image.NewGray(image.Rect(0, 0, 10, 10))), "too small"},
		{"not a png", []byte("<html>"), "decode screenshot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkScreenshot(tc.png)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
