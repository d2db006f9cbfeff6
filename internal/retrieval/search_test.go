package retrieval

import (
	"context"
	"math"
	"sort"
	"strings"
	"testing"
)

// searchIndex holds three one-chunk documents. BM25 and the bag-of-words
// embedder disagree on purpose: "parcel" only matches by words in
// ship.md, while the embedder's vocabulary maps "delivery" words together.
func searchIndex(t *testing.T) *Index {
	t.Helper()
	ix, err := OpenIndex(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	for _, d := range []struct{ id, text string }{
		{"ship.md", "A parcel leaves the warehouse the same day."},
		{"late.md", "Late delivery: a courier delay of two days is normal."},
		{"refund.md", "Refunds reach the card in five business days."},
	} {
		if _, err := ix.Upsert(context.Background(), d.id, "h-"+d.id, []Chunk{{ID: d.id + "#0", DocID: d.id, Text: d.text}}); err != nil {
			t.Fatal(err)
		}
	}
	return ix
}

func TestSearcherModes(t *testing.T) {
	embed := bagEmbed([]string{"parcel", "deliver", "courier", "refund", "card"})
	cases := []struct {
		name  string
		opts  SearchOptions
		query string
		want  string // hit chunk ids, best first
	}{
		{"bm25", SearchOptions{Mode: ModeBM25, K: 2}, "parcel delivery", "ship.md#0 late.md#0"},
		{"vector", SearchOptions{Mode: ModeVector, K: 1, Embed: embed, EmbedModel: "bag"}, "courier deliveries", "late.md#0"},
		{"hybrid leaning on bm25", SearchOptions{Mode: ModeHybrid, K: 1, Weight: 0.1, Embed: embed, EmbedModel: "bag"}, "parcel courier", "ship.md#0"},
		{"hybrid leaning on vectors", SearchOptions{Mode: ModeHybrid, K: 1, Weight: 0.9, Embed: embed, EmbedModel: "bag"}, "courier courier courier parcel", "late.md#0"},
		{"default k is 3", SearchOptions{}, "parcel courier refunds", "late.md#0 refund.md#0 ship.md#0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ix := searchIndex(t)
			s, err := NewSearcher(context.Background(), ix, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			hits, err := s.Search(context.Background(), tc.query)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, h := range hits {
				ids = append(ids, h.Chunk.ID)
			}
			if tc.opts.K == 0 {
				sort.Strings(ids) // only how many come back is under test
			}
			if got := strings.Join(ids, " "); got != tc.want {
				t.Errorf("hits %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSearcherErrors(t *testing.T) {
	cases := []struct {
		name string
		opts SearchOptions
		want string
	}{
		{"unknown mode", SearchOptions{Mode: "psychic"}, "use bm25, vector or hybrid"},
		{"vector without embedder", SearchOptions{Mode: ModeVector}, "needs an embedding model"},
		{"weight out of range", SearchOptions{Mode: ModeHybrid, Weight: 2}, "between 0 and 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSearcher(context.Background(), searchIndex(t), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// TestEmbedModelChange: vectors of another embedding model are dropped and
// recomputed, never searched beside the new model's.
func TestEmbedModelChange(t *testing.T) {
	ctx := context.Background()
	ix := searchIndex(t)
	small := bagEmbed([]string{"parcel"})
	if _, err := NewSearcher(ctx, ix, SearchOptions{Mode: ModeVector, Embed: small, EmbedModel: "small"}); err != nil {
		t.Fatal(err)
	}
	big := bagEmbed([]string{"parcel", "courier", "refund"})
	s, err := NewSearcher(ctx, ix, SearchOptions{Mode: ModeVector, K: 1, Embed: big, EmbedModel: "big"})
	if err != nil {
		t.Fatalf("a new embedding model must replace the old vectors, got %v", err)
	}
	hits, err := s.Search(ctx, "refund")
	if err != nil || len(hits) != 1 || hits[0].Chunk.ID != "refund.md#0" {
		t.Errorf("hits %v, err %v; want refund.md#0", hits, err)
	}
}

func TestFuseWeighted(t *testing.T) {
	a := []Hit{{Chunk: Chunk{ID: "x"}}, {Chunk: Chunk{ID: "y"}}}
	b := []Hit{{Chunk: Chunk{ID: "y"}}, {Chunk: Chunk{ID: "x"}}}
	cases := []struct {
		name    string
		weights []float64
		first   string
	}{
		{"first list weighs more", []float64{0.8, 0.2}, "x"},
		{"second list weighs more", []float64{0.2, 0.8}, "y"},
		{"even weights tie, broken by id", []float64{0.5, 0.5}, "x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := FuseWeighted([][]Hit{a, b}, tc.weights, 0, 60)
			if got[0].Chunk.ID != tc.first {
				t.Errorf("first %s, want %s", got[0].Chunk.ID, tc.first)
			}
			want := tc.weights[0]/61 + tc.weights[1]/62
			if got[0].Chunk.ID == "y" {
				want = tc.weights[0]/62 + tc.weights[1]/61
			}
			if math.Abs(got[0].Score-want) > 1e-12 {
				t.Errorf("score %v, want %v", got[0].Score, want)
			}
		})
	}
}

func TestSourceMetrics(t *testing.T) {
	hits := []Hit{{Chunk: Chunk{DocID: "knowledge/ship.md"}}, {Chunk: Chunk{DocID: "knowledge/refunds.md"}}, {Chunk: Chunk{DocID: "knowledge/faq.jsonl#r7"}}}
	cases := []struct {
		name        string
		sources     string
		k           int
		recall, mrr float64
	}{
		{"source by file name, second hit", "refunds.md", 0, 1, 0.5},
		{"source by lab path, first hit", "knowledge/ship.md", 0, 1, 1},
		{"cut at k", "refunds.md", 1, 0, 0.5},
		{"two sources, one found", "ship.md, faq.md", 0, 0.5, 1},
		{"a name is not a path suffix", "hip.md", 0, 0, 0},
		{"a record by its id", "r7", 0, 1, 1.0 / 3},
		{"a record by file and id", "faq.jsonl#r7", 0, 1, 1.0 / 3},
		{"a JSONL file stands for its records", "faq.jsonl", 0, 1, 1.0 / 3},
		{"another record is not this one", "r8", 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := ParseSources(tc.sources)
			if r := SourceRecall(hits, src, tc.k); r != tc.recall {
				t.Errorf("recall %v, want %v", r, tc.recall)
			}
			if m := SourceMRR(hits, src); m != tc.mrr {
				t.Errorf("MRR %v, want %v", m, tc.mrr)
			}
		})
	}
}

func TestGroundedness(t *testing.T) {
	passages := []string{"Refunds reach the card within 5 business days.", "Express shipping costs $12.95."}
	cases := []struct {
		name   string
		answer string
		want   float64
		ok     bool
	}{
		{"every word in the passages", "within 5 business days", 1, true},
		{"plural matches singular", "5 business day", 1, true},
		{"a number from a price", "$12.95", 1, true},
		{"half invented", "refunds take 9 weeks", 0.25, true},
		{"nothing in them", "purple elephants", 0, true},
		{"only stopwords claims nothing", "it is the", 0, false},
		{"empty", "", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Groundedness(tc.answer, passages)
			if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Groundedness(%q) = %v, %v; want %v, %v", tc.answer, got, ok, tc.want, tc.ok)
			}
		})
	}
}
