package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// uiLab is the small ladder lab (a generated tiny model, two prompts,
// five test cases, a short tuning) with a finished evaluation run and a
// deployment, triage. It returns the lab and the run's results file.
func uiLab(t *testing.T) (string, resultsFile) {
	t.Helper()
	dir := smallLadderLab(t)
	if r := tunelab(t, dir, nil, "eval", "--json", "run.json"); r.code != 0 {
		t.Fatalf("eval: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := tunelab(t, dir, nil, "deploy", "triage", "--candidate", "local:tiny/zero-shot"); r.code != 0 {
		t.Fatalf("deploy: %d %s %s", r.code, r.stdout, r.stderr)
	}
	return dir, readResults(t, filepath.Join(dir, "run.json"))
}

// alertOnEveryCall makes the lab's monitor score every call and check its
// rules each second, with a p95 limit no call can meet, so the first
// served call raises an alert.
func alertOnEveryCall(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "tunelab.yaml")
	cfg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cfg), "\nserve:") {
		t.Fatalf("%s already has a serve section; merge the monitor settings into it", path)
	}
	cfg = append(cfg, "\nserve:\n  monitor:\n    sample: 1\n    interval: 1s\n    max_p95_ms: 0.001\n"...)
	if err := os.WriteFile(path, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
}

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

// pixelsNear counts the pixels of a PNG within tol of c on every channel,
// leaving out the bottom 40 rows, where a chart's legend sits.
func pixelsNear(b []byte, c color.RGBA, tol int) (int, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("decode screenshot: %w", err)
	}
	r := img.Bounds()
	near := func(x uint32, want uint8) bool {
		d := int(x>>8) - int(want)
		return d <= tol && d >= -tol
	}
	n := 0
	for y := r.Min.Y; y < r.Max.Y-40; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(pr, c.R) && near(pg, c.G) && near(pb, c.B) {
				n++
			}
		}
	}
	return n, nil
}

func TestPixelsNear(t *testing.T) {
	blue := color.RGBA{0x00, 0x72, 0xB2, 0xff}
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for x := 10; x < 15; x++ {
		img.Set(x, 20, blue)                               // in the plot area
		img.Set(x, 80, blue)                               // in the legend's rows
		img.Set(x, 30, color.RGBA{0x10, 0x80, 0xC0, 0xff}) // near blue
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    color.RGBA
		tol  int
		want int
	}{
		{"exact colour above the legend", blue, 0, 5},
		{"near colours count within tolerance", blue, 20, 10},
		{"absent colour", color.RGBA{0xD5, 0x5E, 0x00, 0xff}, 10, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := pixelsNear(b.Bytes(), tc.c, tc.tol)
			if err != nil || n != tc.want {
				t.Errorf("pixelsNear = %d, %v; want %d", n, err, tc.want)
			}
		})
	}
	if _, err := pixelsNear([]byte("<html>"), blue, 0); err == nil {
		t.Error("pixelsNear accepted bytes that are not a PNG")
	}
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

func firstCandidate(r resultsFile) string {
	if len(r.Summary.Candidates) == 0 {
		return ""
	}
	return r.Summary.Candidates[0].ID
}
