package retrieval

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func rerankHits(ids ...string) []Hit {
	out := make([]Hit, len(ids))
	for i, id := range ids {
		out[i] = Hit{Chunk: Chunk{ID: id, Text: "text of " + id}, Score: float64(len(ids) - i)}
	}
	return out
}

func hitIDs(hs []Hit) string {
	ids := make([]string, len(hs))
	for i, h := range hs {
		ids[i] = h.Chunk.ID
	}
	return strings.Join(ids, ",")
}

func TestParseRerank(t *testing.T) {
	hits := rerankHits("a", "b", "c", "d")
	cases := []struct {
		name, reply, want string
		err               error
	}{
		{"full ranking", `{"ranking": ["p3", "p1", "p4", "p2"]}`, "c,a,d,b", nil},
		{"partial ranking keeps the rest in search order", `{"ranking": ["p4"]}`, "d,a,b,c", nil},
		{"repeats and unknown ids are skipped", `{"ranking": ["p2", "p2", "p9", "x", "p0", "p1"]}`, "b,a,c,d", nil},
		{"text around the object", "Sure.\n```json\n{\"ranking\": [\"p2\"]}\n```", "b,a,c,d", nil},
		{"cut off at the token limit", "{\n\"ranking\"\n:\n  [ \"p3\"\n, \"p3\"\n, \"p2", "c,a,b,d", nil},
		{"no quoted id", "p2 is best", "", ErrNoRanking},
		{"no known id", `{"ranking": ["p7"]}`, "", ErrNoRanking},
		{"an empty ranking", `{"ranking": []}`, "", ErrNoRanking},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRerank(tc.reply, hits)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := hitIDs(got); g != tc.want {
				t.Errorf("order %s, want %s", g, tc.want)
			}
		})
	}
	if hitIDs(hits) != "a,b,c,d" {
		t.Errorf("ParseRerank reordered its input: %s", hitIDs(hits))
	}
}

func TestRerankPrompt(t *testing.T) {
	hits := rerankHits("a", "b", "c")
	_, user, schema := RerankPrompt("  where is my parcel? ", hits)
	for _, want := range []string{"<question>\nwhere is my parcel?\n</question>", "[p1]\ntext of a", "[p3]\ntext of c"} {
		if !strings.Contains(user, want) {
			t.Errorf("prompt lacks %q:\n%s", want, user)
		}
	}
	var s struct {
		Properties struct {
			Ranking struct {
				Items struct {
					Enum []string `json:"enum"`
				} `json:"items"`
			} `json:"ranking"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Properties.Ranking.Items.Enum, ","); got != "p1,p2,p3" {
		t.Errorf("schema allows ids %s, want p1,p2,p3", got)
	}
}
