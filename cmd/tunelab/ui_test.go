package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestUI drives the web UI in headless Chromium against `tunelab serve`
// on a lab with a finished run: the run's matrix and its filter, a case's
// detail, a prompt run in the playground, the ladder, a served call's
// review, a deployment's charts over time and its alerts, and a dataset
// row fixed in place, with a screenshot of each that must not be blank.
// TUNELAB_UI_SHOTS keeps the screenshots.
func TestUI(t *testing.T) {
	browserCtx, pageErrors := browser(t)
	ctx := browserCtx // each step's, bounded by its limit
	dir, res := uiLab(t)
	alertOnEveryCall(t, dir)
	_, pub, adm, _ := startServe(t, dir, "--no-auth")
	base := "http://" + adm + "/"
	shots := os.Getenv("TUNELAB_UI_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	runID := res.Summary.RunID
	cands := len(res.Summary.Candidates)
	cases := res.Summary.Cases
	// What the matrix's filters must keep: cases any candidate failed, and
	// cases whose candidates answered differently or passed differently.
	failing := map[string]bool{}
	answers := map[string]map[string]bool{}
	passes := map[string]map[bool]bool{}
	for _, r := range res.Results {
		if !r.Pass {
			failing[r.CaseID] = true
		}
		if answers[r.CaseID] == nil {
			answers[r.CaseID], passes[r.CaseID] = map[string]bool{}, map[bool]bool{}
		}
		answers[r.CaseID][strings.ToLower(strings.TrimSpace(r.Answer))] = true
		passes[r.CaseID][r.Pass] = true
	}
	disagree := 0
	for id := range answers {
		if len(answers[id]) > 1 || len(passes[id]) > 1 {
			disagree++
		}
	}
	if runID == "" || cands == 0 || cases == 0 {
		t.Fatalf("eval gave no run: %+v", res.Summary)
	}

	shoot := func(t *testing.T, name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(shots, name+".png")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := checkScreenshot(b); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	text := func(t *testing.T, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	count := func(t *testing.T, sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}

	steps := []struct {
		name  string
		limit time.Duration
		run   func(t *testing.T)
	}{
		{"runs list links the run", 30 * time.Second, func(t *testing.T) {
			link := fmt.Sprintf(`a[href="#/runs/%s"]`, runID)
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"#/runs"), chromedp.WaitVisible(chromedp.CSS(link))); err != nil {
				t.Fatalf("runs list: %v", err)
			}
			shoot(t, "1-runs")
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.CSS("table.matrix"))); err != nil {
				t.Fatalf("open run: %v", err)
			}
		}},
		{"matrix has a cell per candidate and case", 30 * time.Second, func(t *testing.T) {
			if n := count(t, "table.matrix td.cell"); n != cands*cases {
				t.Errorf("%d matrix cells, want %d candidates x %d cases", n, cands, cases)
			}
			if got := text(t, "table.data tbody tr:first-child th"); !strings.Contains(got, firstCandidate(res)) {
				t.Errorf("summary's first row %q, want the best candidate %s", got, firstCandidate(res))
			}
			shoot(t, "2-run-matrix")
		}},
		{"matrix filters keep the failing and the disputed cases", 30 * time.Second, func(t *testing.T) {
			for _, f := range []struct {
				label string
				want  int
			}{{"Failed only", len(failing)}, {"Disagreements", disagree}} {
				box := chromedp.Search(fmt.Sprintf(`//label[contains(., %q)]/input`, f.label))
				if err := chromedp.Do(ctx, chromedp.Click(box)); err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprintf("%d of %d cases", f.want, cases)
				if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(fmt.Sprintf(`//span[contains(., %q)]`, want)))); err != nil {
					t.Fatalf("%s: want %q: %v", f.label, want, err)
				}
				if n := count(t, "table.matrix tbody tr"); n != min(f.want, 100) {
					t.Errorf("%s: %d rows shown, want %d", f.label, n, f.want)
				}
				if err := chromedp.Do(ctx, chromedp.Click(box)); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"case detail shows every candidate's answer and a diff", 30 * time.Second, func(t *testing.T) {
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS("table.matrix tbody tr:first-child th a")),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="case-answer"]`))); err != nil {
				t.Fatalf("open case: %v", err)
			}
			if n := count(t, `[data-testid="case-answer"]`); n != cands {
				t.Errorf("%d answers on the case page, want %d", n, cands)
			}
			if got := text(t, "h1"); !regexp.MustCompile(`Case tk-\d+`).MatchString(got) {
				t.Errorf("case page title %q", got)
			}
			if cands > 1 && count(t, "#diff-title") != 1 {
				t.Error("no diff section on the case page")
			}
			// The rendered prompt comes from the server, without a model call.
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`[data-testid="case-answer"] details summary`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="rendered-message"]`))); err != nil {
				t.Fatalf("open the rendered prompt: %v", err)
			}
			input := text(t, ".kv pre.output")
			if got := text(t, `[data-testid="rendered-message"]:last-child pre`); input == "" || !strings.Contains(got, input) {
				t.Errorf("rendered prompt %q does not hold the case's input %q", got, input)
			}
			shoot(t, "3-case-detail")
		}},
		{"playground runs a prompt", 30 * time.Second, func(t *testing.T) {
			if err := chromedp.Do(ctx,
				chromedp.Navigate(base+"#/playground"),
				chromedp.WaitVisible(chromedp.CSS("#pg-input")),
				chromedp.SendKeys(chromedp.CSS("#pg-input"), "My parcel never arrived, where is it?"),
				chromedp.Click(chromedp.Search(`//button[@type="submit" and normalize-space()="Run"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="pg-output"]`)),
			); err != nil {
				t.Fatalf("playground: %v", err)
			}
			// Text is as rendered: the stats' labels are upper-cased by CSS.
			out := strings.ToLower(text(t, `[data-testid="pg-output"]`))
			for _, want := range []*regexp.Regexp{
				regexp.MustCompile(`local:tiny/zero-shot`),
				regexp.MustCompile(`tokens\s+\d+ in / [1-8] out`), // max_tokens is 8
				regexp.MustCompile(`latency\s+[\d.,]+ ms`),
				regexp.MustCompile(`cost\s+\$[\d.]+`),
			} {
				if !want.MatchString(out) {
					t.Errorf("playground output %q does not match %s", out, want)
				}
			}
			if got := text(t, ".results .casehead"); !strings.Contains(got, "My parcel never arrived") {
				t.Errorf("playground result header %q lacks the input", got)
			}
			shoot(t, "4-playground")
		}},
		{"ladder runs live and ends in a verdict", 3 * time.Minute, func(t *testing.T) {
			start := `//button[normalize-space()="Run the ladder"]`
			if err := chromedp.Do(ctx,
				chromedp.Navigate(base+"#/ladder"),
				chromedp.WaitVisible(chromedp.Search(start)),
				chromedp.Click(chromedp.Search(start)),
				// Progress comes as server-sent events while it runs.
				chromedp.WaitVisible(chromedp.CSS(`.progress progress`)),
			); err != nil {
				t.Fatalf("start the ladder: %v", err)
			}
			shoot(t, "5-ladder-running")
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#verdict-title"))); err != nil {
				t.Fatalf("no verdict on the page: %v (state: %s)", err, text(t, ".ladderbar"))
			}
			var v struct {
				Verdict struct {
					Pick    string   `json:"pick"`
					Options []any    `json:"options"`
					Reasons []string `json:"reasons"`
				} `json:"verdict"`
			}
			raw, err := os.ReadFile(filepath.Join(dir, "ladder", "verdict.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			if got := text(t, ".verdict .pick"); !strings.Contains(got, v.Verdict.Pick) || v.Verdict.Pick == "" {
				t.Errorf("verdict on the page %q, verdict.json picks %q", got, v.Verdict.Pick)
			}
			if n := count(t, ".verdict li"); n < len(v.Verdict.Reasons) {
				t.Errorf("%d reasons and changes listed, verdict.json has %d reasons", n, len(v.Verdict.Reasons))
			}
			if n := count(t, "#evidence-title ~ .tablewrap tbody tr"); n != len(v.Verdict.Options) {
				t.Errorf("evidence table has %d rows, verdict.json weighs %d candidates", n, len(v.Verdict.Options))
			}
			if n := count(t, ".charts canvas"); n != 2 {
				t.Errorf("%d charts, want quality-vs-cost and cost-vs-volume", n)
			}
			if !strings.Contains(strings.ToLower(text(t, ".ladderbar")), "done") {
				t.Errorf("ladder state %q, want done", text(t, ".ladderbar"))
			}
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('verdict-title').scrollIntoView() === undefined`)); err != nil {
				t.Fatal(err)
			}
			shoot(t, "6-ladder-verdict")
		}},
		{"a served call is reviewed from its deployment's page", 30 * time.Second, func(t *testing.T) {
			body := `{"model":"triage","messages":[{"role":"user","content":"My parcel never arrived"}]}`
			resp, err := http.Post("http://"+pub+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			traceID := resp.Header.Get("X-Tunelab-Trace-Id")
			if resp.StatusCode != 200 || traceID == "" {
				t.Fatalf("chat call: %d, trace %q", resp.StatusCode, traceID)
			}
			// The trace reaches the store a moment after the answer.
			stored := false
			for i := 0; i < 100 && !stored; i++ {
				r, err := http.Get("http://" + adm + "/api/traces/" + traceID)
				if err != nil {
					t.Fatal(err)
				}
				r.Body.Close()
				stored = r.StatusCode == 200
				time.Sleep(20 * time.Millisecond)
			}
			row := fmt.Sprintf(`a[href="#/deployments/triage/traces/%s"]`, traceID)
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"#/deployments/triage"), chromedp.WaitVisible(chromedp.CSS(row))); err != nil {
				t.Fatalf("trace %s on the deployment's page: %v", traceID, err)
			}
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(row)),
				chromedp.WaitVisible(chromedp.CSS("#rv-who")),
				chromedp.SendKeys(chromedp.CSS("#rv-who"), "ana"),
				chromedp.Click(chromedp.Search(`//label[contains(., "Wrong")]/input`)),
				chromedp.SetValue(chromedp.CSS("#rv-corr"), "shipping_delay"),
				chromedp.Click(chromedp.Search(`//button[normalize-space()="Save review"]`)),
				chromedp.WaitVisible(chromedp.Search(`//ul[@class="reviews"]/li[contains(., "shipping_delay")]`)),
			); err != nil {
				t.Fatalf("review the trace: %v", err)
			}
			shoot(t, "7-deployment-review")
			r := tunelab(t, dir, nil, "traces", traceID)
			if r.code != 0 || !strings.Contains(r.stdout, "shipping_delay") || !strings.Contains(r.stdout, "ana") {
				t.Errorf("the review is not stored: %d %s %s", r.code, r.stdout, r.stderr)
			}
			// The reviewed call becomes a dataset file in the lab.
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.Search(`//button[normalize-space()="Capture reviewed calls as a dataset"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="capture-result"]`)),
			); err != nil {
				t.Fatalf("capture: %v", err)
			}
			captured := text(t, `[data-testid="capture-result"]`)
			file := regexp.MustCompile(`data/captured-\S+\.jsonl`).FindString(captured)
			data, rerr := os.ReadFile(filepath.Join(dir, file))
			if !strings.HasPrefix(captured, "1 examples") || file == "" || rerr != nil || !strings.Contains(string(data), `"expected":"shipping_delay"`) {
				t.Errorf("capture said %q; file %s: %v %s", captured, file, rerr, data)
			}
		}},
		{"an edited prompt runs on a test case and is saved", 30 * time.Second, func(t *testing.T) {
			if err := chromedp.Do(ctx,
				chromedp.Navigate(base+"#/playground"),
				chromedp.WaitVisible(chromedp.CSS("#ed-tmpl")),
				chromedp.Click(chromedp.Search(`//label[contains(., "Run the edited prompt too")]/input`)),
				chromedp.SendKeys(chromedp.CSS("#ed-tmpl"), "Ticket: "),
				chromedp.Click(chromedp.Search(`//label[contains(., "Test cases")]/input`)),
				chromedp.Click(chromedp.CSS(`ul.cases li:first-child input`)),
				chromedp.Click(chromedp.Search(`//button[@type="submit" and normalize-space()="Run"]`)),
				chromedp.Poll[chromedp.Void](`document.querySelectorAll('[data-testid="pg-output"]').length === 2`),
			); err != nil {
				t.Fatalf("run the edited prompt: %v", err)
			}
			if got := text(t, ".results"); !strings.Contains(got, "zero-shot-edited") || !strings.Contains(got, "Expected:") {
				t.Errorf("results %q lack the edited candidate or the case's expected answer", got)
			}
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.Search(`(//*[@data-testid="pg-output"])[2]//summary`))); err != nil {
				t.Fatal(err)
			}
			if got := text(t, `[data-testid="pg-output"]:nth-child(2) details`); !strings.Contains(got, "Ticket: ") {
				t.Errorf("the edited prompt's rendered messages %q lack the edit", got)
			}
			shoot(t, "8-playground-edited")
			name, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('ed-name').value`))
			if err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.Search(`//button[normalize-space()="Save as prompt variant"]`)),
				chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Saved as prompt")]`)),
			); err != nil {
				t.Fatalf("save the variant: %v", err)
			}
			cfg, err := os.ReadFile(filepath.Join(dir, "tunelab.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(cfg), name) || !strings.Contains(string(cfg), "Ticket: ") {
				t.Errorf("tunelab.yaml lacks the saved variant %q:\n%s", name, cfg)
			}
		}},
		{"a deployment shows its quality, latency and errors over time, and its alerts", 30 * time.Second, func(t *testing.T) {
			charts := `[data-testid="health-charts"] canvas`
			// The alert is raised by the monitor's next check after the
			// call; Refresh asks again until the list shows it.
			refresh := `(() => {
				if (document.querySelector('[data-testid="alert-row"]')) return true;
				const b = [...document.querySelectorAll('#health-title ~ .filters button')].find((x) => x.textContent === 'Refresh');
				if (b) b.click();
				return false;
			})()`
			if err := chromedp.Do(ctx,
				chromedp.Navigate(base+"#/deployments/triage"),
				chromedp.WaitVisible(chromedp.CSS(charts)),
				chromedp.Poll[chromedp.Void](refresh, chromedp.WithPollingInterval(500*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)),
			); err != nil {
				t.Fatalf("the deployment's charts and alerts: %v", err)
			}
			if n := count(t, charts); n != 3 {
				t.Errorf("%d charts, want quality, p95 latency and error rate", n)
			}
			if got := text(t, `[data-testid="alert-row"]`); !strings.Contains(got, "latency_p95_ms") || !strings.Contains(strings.ToLower(got), "raised") {
				t.Errorf("alert row %q, want a raised latency_p95_ms alert", got)
			}
			// The p95 chart plots the served call: a point in the series'
			// colour inside the plot area (the legend, also in that
			// colour, sits at the bottom and is left out).
			png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`[data-testid="health-charts"] figure:nth-child(2) canvas`)))
			if err != nil {
				t.Fatal(err)
			}
			if err := checkScreenshot(png); err != nil {
				t.Errorf("p95 chart: %v", err)
			}
			if n, err := pixelsNear(png, color.RGBA{0x00, 0x72, 0xB2, 0xff}, 40); err != nil || n < 10 {
				t.Errorf("p95 chart: %d pixels of the series' colour in the plot area (%v), want a plotted point", n, err)
			}
			shoot(t, "9-deployment-health")
		}},
		{"a dataset row is fixed from the Datasets view and stays fixed after a reload", 30 * time.Second, func(t *testing.T) {
			testFile := filepath.Join(dir, "data", "test.jsonl")
			before, err := os.ReadFile(testFile)
			if err != nil {
				t.Fatal(err)
			}
			var row struct{ ID, Input, Expected string }
			if err := json.Unmarshal([]byte(strings.SplitN(string(before), "\n", 2)[0]), &row); err != nil {
				t.Fatal(err)
			}
			label := "account_close"
			if row.Expected == label {
				label = "account_login"
			}
			fixed := strings.Replace(row.Input, "bacukp", "backup", 1) + " (checked)"
			edit := fmt.Sprintf(`button[aria-label="Edit row %s"]`, row.ID)
			input, expected := fmt.Sprintf("#edit-%s-input", row.ID), fmt.Sprintf("#edit-%s-expected", row.ID)
			save := `//form[@class="rowedit"]//button[@type="submit"]`
			if err := chromedp.Do(ctx,
				chromedp.Navigate(base+"#/datasets"),
				chromedp.WaitVisible(chromedp.CSS(edit)),
				// Escape closes the form and gives focus back to its button.
				chromedp.Click(chromedp.CSS(edit)),
				chromedp.WaitVisible(chromedp.CSS(input)),
				chromedp.KeyEvent(kb.Escape),
				chromedp.WaitNotPresent(chromedp.CSS(input)),
				chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.activeElement && document.activeElement.matches(%q)`, edit)),
				// An empty input is refused in the form.
				chromedp.Click(chromedp.CSS(edit)),
				chromedp.WaitVisible(chromedp.CSS(input)),
				chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
				chromedp.KeyEvent(kb.Backspace),
				chromedp.Click(chromedp.Search(save)),
				chromedp.WaitVisible(chromedp.CSS(`.rowedit [role="alert"]`)),
			); err != nil {
				t.Fatalf("open, cancel and empty the row's form: %v", err)
			}
			if got := text(t, `.rowedit [role="alert"]`); !strings.Contains(got, "input is empty") {
				t.Errorf("error shown %q, want the empty input named", got)
			}
			shoot(t, "10-dataset-row-form")
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS(input), fixed),
				chromedp.SetValue(chromedp.CSS(expected), label),
				chromedp.Click(chromedp.Search(save)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="edit-saved"]`)),
			); err != nil {
				t.Fatalf("save the row: %v", err)
			}
			if got := text(t, `[data-testid="edit-saved"]`); !strings.Contains(got, "data/test.jsonl line 1") {
				t.Errorf("saved message %q does not name the file and line", got)
			}
			shoot(t, "11-dataset-row-fixed")
			rowSel := fmt.Sprintf(`//tr[th[normalize-space()=%q]]`, row.ID)
			if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.Search(rowSel))); err != nil {
				t.Fatalf("reload: %v", err)
			}
			got, err := chromedp.Run(ctx, chromedp.Text(chromedp.Search(rowSel)))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, fixed) || !strings.Contains(got, label) {
				t.Errorf("after a reload the row reads %q, want %q and %q", got, fixed, label)
			}
			after, err := os.ReadFile(testFile)
			if err != nil {
				t.Fatal(err)
			}
			wantFirst := fmt.Sprintf(`{"id":%q,"input":%q,"expected":%q}`, row.ID, fixed, label)
			gotLines, beforeLines := strings.SplitN(string(after), "\n", 2), strings.SplitN(string(before), "\n", 2)
			if gotLines[0] != wantFirst || gotLines[1] != beforeLines[1] {
				t.Errorf("data/test.jsonl's first line %s, want %s, and the other lines as they were", gotLines[0], wantFirst)
			}
		}},
	}
	for _, st := range steps {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(browserCtx, st.limit)
		ok := t.Run(st.name, st.run)
		cancel()
		if !ok {
			break // later steps start where this one should have ended
		}
	}
	if errs := pageErrors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
	if t.Failed() {
		t.Logf("screenshots in %s", shots)
	}
}
