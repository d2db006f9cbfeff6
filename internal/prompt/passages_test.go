package prompt

import (
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

func TestMessagesWithPassages(t *testing.T) {
	task := lab.Task{Name: "faq", Description: "Answer the question.", Output: lab.OutputText}
	train := []lab.Example{{ID: "d1", Input: "demo question", Expected: "demo answer"}}
	passages := []Passage{
		{ID: "kb/refunds.md#0", Heading: "Refunds", Text: "Refunds take 5 days.\n"},
		{ID: "kb/ship.md#2", Text: "Parcels leave daily."},
	}
	cases := []struct {
		name     string
		variant  lab.Variant
		passages []Passage
		want     string // the last user turn
	}{
		{"no passages: as Messages", lab.Variant{Name: "zs"}, nil, "Answer the question.\n\nHow long do refunds take?"},
		{"passages between instructions and input", lab.Variant{Name: "zs"}, passages,
			"Answer the question.\n\nAnswer from these passages of the knowledge base. Cite the id of each passage you use in square brackets, like [kb/refunds.md#0].\n\n" +
				"[kb/refunds.md#0] Refunds\nRefunds take 5 days.\n\n[kb/ship.md#2]\nParcels leave daily.\n\nHow long do refunds take?"},
		{"with demonstrations the instructions stay in the first turn", lab.Variant{Name: "fs", FewShot: &lab.FewShot{K: 1, Select: lab.SelectFixed}}, passages[:1],
			"Answer from these passages of the knowledge base. Cite the id of each passage you use in square brackets, like [kb/refunds.md#0].\n\n" +
				"[kb/refunds.md#0] Refunds\nRefunds take 5 days.\n\nHow long do refunds take?"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewBuilder(task, Expand(tc.variant, task), train)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := b.MessagesWith(lab.Example{ID: "q", Input: "How long do refunds take?"}, tc.passages)
			if err != nil {
				t.Fatal(err)
			}
			if got := msgs[len(msgs)-1].Content; got != tc.want {
				t.Errorf("last user turn:\n%s\nwant:\n%s", got, tc.want)
			}
			for _, m := range msgs[:len(msgs)-1] {
				if strings.Contains(m.Content, "knowledge base") {
					t.Errorf("a demonstration got the case's passages: %q", m.Content)
				}
			}
		})
	}
}
