package prompt

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/testutil/golden"
)

var task = lab.Task{
	Name:        "ticket-routing",
	Description: "Route the customer's message to the team that should handle it.",
	Output:      lab.OutputLabel,
	Labels:      []string{"billing", "shipping", "login"},
}

var train = []lab.Example{
	{ID: "t1", Input: "I was charged twice for my order", Expected: "billing"},
	{ID: "t2", Input: "My parcel has not arrived yet", Expected: "shipping"},
	{ID: "t3", Input: "I cannot log in to my account", Expected: "login"},
	{ID: "t4", Input: "Where is my parcel, tracking says delayed", Expected: "shipping"},
	{ID: "t5", Input: "Refund the double charge please", Expected: "billing"},
}

// TestRenderGolden renders one case with every technique; the exact
// messages are kept in testdata/render.golden so a change to any preset is
// visible in review.
func TestRenderGolden(t *testing.T) {
	variants := []lab.Variant{
		{Name: "zero", Technique: lab.TechZeroShot},
		{Name: "instr", Technique: lab.TechInstructions},
		{Name: "role", Technique: lab.TechRole},
		{Name: "knn", Technique: lab.TechFewShot, FewShot: &lab.FewShot{K: 2, Select: lab.SelectNearest}},
		{Name: "fixed", FewShot: &lab.FewShot{K: 3, Select: lab.SelectFixed}},
		{Name: "cot", Technique: lab.TechChainOfThought},
		{Name: "json", Technique: lab.TechJSON, FewShot: &lab.FewShot{K: 1, Select: lab.SelectFixed, IDs: []string{"t3"}}},
		{Name: "template", Template: "Ticket: {{.Input}}\nTeam:"},
	}
	ex := lab.Example{ID: "c1", Input: "my parcel is late", Expected: "shipping"}
	var got strings.Builder
	for _, v := range variants {
		t.Run(v.Name, func(t *testing.T) {
			b, err := NewBuilder(task, Expand(v, task), train)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := b.Messages(ex)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&got, "=== %s\n", v.Name)
			for _, m := range msgs {
				fmt.Fprintf(&got, "[%s]\n%s\n", m.Role, m.Content)
			}
		})
	}
	golden.Check(t, filepath.Join("testdata", "render.golden"), got.String())
}

func TestExtract(t *testing.T) {
	cot := Expand(lab.Variant{Name: "cot", Technique: lab.TechChainOfThought}, task)
	js := Expand(lab.Variant{Name: "json", Technique: lab.TechJSON}, task)
	plain := Expand(lab.Variant{Name: "plain"}, task)
	cases := []struct {
		name string
		v    lab.Variant
		out  string
		want string
	}{
		{"plain trims", plain, "  billing \n", "billing"},
		{"cot last answer line", cot, "The parcel is late.\nAnswer: shipping", "shipping"},
		{"cot final answer wins", cot, "Answer: billing? no.\nFinal answer: shipping", "shipping"},
		{"cot markdown bold", cot, "reasoning\n**Answer:** login", "login"},
		{"cot no marker falls back to last line", cot, "hmm\nshipping", "shipping"},
		{"json field", js, `{"answer": "login"}`, "login"},
		{"json in fence", js, "```json\n{\"answer\": \"billing\"}\n```", "billing"},
		{"json invalid kept raw", js, "not json", "not json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewBuilder(task, tc.v, train)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Extract(tc.out); got != tc.want {
				t.Errorf("Extract(%q) = %q, want %q", tc.out, got, tc.want)
			}
		})
	}
}

func TestDemonstrations(t *testing.T) {
	ex := lab.Example{ID: "c9", Input: "charged twice, refund me"}
	cases := []struct {
		name string
		fs   lab.FewShot
		want []string // ids; nil means "check determinism only"
	}{
		{"nearest picks the billing examples, most similar last", lab.FewShot{K: 2, Select: lab.SelectNearest}, []string{"t5", "t1"}},
		{"fixed spreads over labels", lab.FewShot{K: 3, Select: lab.SelectFixed}, []string{"t1", "t3", "t2"}},
		{"fixed by ids", lab.FewShot{Select: lab.SelectFixed, IDs: []string{"t4", "t2"}}, []string{"t4", "t2"}},
		{"random is seeded", lab.FewShot{K: 3, Select: lab.SelectRandom, Seed: 7}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := tc.fs
			b, err := NewBuilder(task, Expand(lab.Variant{Name: "x", FewShot: &fs}, task), train)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(b.Demonstrations(ex))
			if tc.want == nil {
				again := ids(b.Demonstrations(ex))
				if strings.Join(got, ",") != strings.Join(again, ",") || len(got) != fs.K {
					t.Errorf("random selection not reproducible or wrong size: %v vs %v", got, again)
				}
				return
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBuilderErrors(t *testing.T) {
	cases := []struct {
		name  string
		v     lab.Variant
		train []lab.Example
		want  string
	}{
		{"few-shot without train", lab.Variant{Name: "k", FewShot: &lab.FewShot{K: 2, Select: lab.SelectNearest}, Template: "{{.Input}}"}, nil, "train split is empty"},
		{"unknown id", lab.Variant{Name: "f", FewShot: &lab.FewShot{Select: lab.SelectFixed, IDs: []string{"nope"}}, Template: "{{.Input}}"}, train, `no train example with id "nope"`},
		{"bad template", lab.Variant{Name: "t", Template: "{{.Input"}, train, "template"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewBuilder(task, tc.v, tc.train)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	b, err := NewBuilder(task, lab.Variant{Name: "meta", Template: "{{.Meta.missing}}"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Messages(lab.Example{ID: "x", Input: "y"}); err == nil {
		t.Error("a template naming a missing field should fail at render time")
	}
}

func TestDefaultSchemaIsValidJSON(t *testing.T) {
	v := Expand(lab.Variant{Name: "j", Technique: lab.TechJSON}, task)
	var s map[string]any
	if err := json.Unmarshal(v.JSONSchema, &s); err != nil {
		t.Fatal(err)
	}
	enum := s["properties"].(map[string]any)["answer"].(map[string]any)["enum"].([]any)
	if len(enum) != len(task.Labels) {
		t.Errorf("enum has %d labels, want %d", len(enum), len(task.Labels))
	}
}

func ids(exs []lab.Example) []string {
	out := make([]string, len(exs))
	for i, e := range exs {
		out[i] = e.ID
	}
	return out
}

// Documents that are the same words in other orders score within rounding
// of each other; the order they come back in must not change between runs.
func TestIndexNearTiesAreStable(t *testing.T) {
	words := strings.Fields("refund invoice parcel courier password account member renewal warranty battery screen charger cable order delivery address label return receipt payment")
	var docs []string
	for i := range 30 {
		w := append([]string(nil), words...)
		for j := range w {
			k := (j*7 + i*3) % len(w)
			w[j], w[k] = w[k], w[j]
		}
		docs = append(docs, strings.Join(w, " "))
	}
	query := "refund the parcel to my account, the charger cable broke"
	first := NewIndex(docs).Search(query, 10)
	for range 50 {
		if got := NewIndex(docs).Search(query, 10); !reflect.DeepEqual(got, first) {
			t.Fatalf("search gave %v, then %v", first, got)
		}
	}
}
