package reading

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

var boldRE = regexp.MustCompile(`(?s)\*\*(.+?)\*\*`)

// BoldSpans returns the bold spans of Markdown text, whitespace collapsed.
func BoldSpans(text string) []string {
	var out []string
	for _, m := range boldRE.FindAllStringSubmatch(text, -1) {
		out = append(out, strings.Join(strings.Fields(m[1]), " "))
	}
	return out
}

// ExampleFacts reads what the synthetic data must never contain from an
// evaluation set: every bold span of the Markdown files in knowledgeDir and
// every expected answer in the questions file (JSONL with "expected").
func ExampleFacts(knowledgeDir, questionsPath string) ([]string, error) {
	seen := map[string]bool{}
	files, err := filepath.Glob(filepath.Join(knowledgeDir, "*.md"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("example facts: no Markdown files in %s", knowledgeDir)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("example facts: %w", err)
		}
		for _, s := range BoldSpans(string(raw)) {
			seen[s] = true
		}
	}
	fh, err := os.Open(questionsPath)
	if err != nil {
		return nil, fmt.Errorf("example facts: %w", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var q struct {
			Expected string `json:"expected"`
		}
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			return nil, fmt.Errorf("example facts: %s line %d: %w", questionsPath, line, err)
		}
		if q.Expected != "" {
			seen[q.Expected] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("example facts: %s: %w", questionsPath, err)
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}
