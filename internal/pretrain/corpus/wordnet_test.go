package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/testutil/golden"
)

func TestWordNetDocsGolden(t *testing.T) {
	cases := []struct {
		name, pos string
		wantDocs  int
	}{
		{"noun", "noun", 1},
		{"verb", "verb", 1},
		{"adj", "adj", 1},
		{"adv", "adv", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "wordnet", tc.name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			docs, err := wordnetDocs(f, tc.pos)
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != tc.wantDocs {
				t.Fatalf("%d docs, want %d", len(docs), tc.wantDocs)
			}
			if want := tc.pos + "-0001"; docs[0].ID != want {
				t.Errorf("id %q, want %q", docs[0].ID, want)
			}
			if strings.Contains(docs[0].Text, "Princeton") {
				t.Errorf("licence header leaked into the text")
			}
			golden.Check(t, filepath.Join("testdata", "wordnet", tc.name+".golden"), docs[0].Text+"\n")
		})
	}
}

// A real line from data.noun, repeated to exercise grouping.
const entityLine = "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 ~ 00002137 n 0000 ~ 04431553 n 0000 | that which is perceived or known or inferred to have its own distinct existence (living or nonliving)  "

func TestWordNetDocsGrouping(t *testing.T) {
	cases := []struct {
		name      string
		synsets   int
		wantLines []int
	}{
		{"one", 1, []int{1}},
		{"exactly one group", synsetsPerDoc, []int{synsetsPerDoc}},
		{"one over", synsetsPerDoc + 1, []int{synsetsPerDoc, 1}},
		{"two and a bit", 2*synsetsPerDoc + 7, []int{synsetsPerDoc, synsetsPerDoc, 7}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := "  1 licence header\n" + strings.Repeat(entityLine+"\n", tc.synsets)
			docs, err := wordnetDocs(strings.NewReader(in), "noun")
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != len(tc.wantLines) {
				t.Fatalf("%d docs, want %d", len(docs), len(tc.wantLines))
			}
			for i, d := range docs {
				if n := strings.Count(d.Text, "\n") + 1; n != tc.wantLines[i] {
					t.Errorf("doc %d has %d synsets, want %d", i, n, tc.wantLines[i])
				}
			}
			if last := docs[len(docs)-1].ID; !strings.HasPrefix(last, "noun-000") {
				t.Errorf("last id %q", last)
			}
		})
	}
}

func TestParseSynset(t *testing.T) {
	cases := []struct {
		name    string
		line    string
		want    string // rendered, when no error
		wantLex string
		wantErr string
	}{
		{
			name:    "verb with frames",
			line:    "00002325 29 v 01 respire 1 005 $ 00001740 v 0000 @ 02112831 v 0000 + 03121972 a 0101 + 00832852 n 0103 + 00832472 n 0101 01 + 02 00 | undergo the biomedical and metabolic processes of respiration by taking up oxygen and producing carbon monoxide  ",
			want:    "respire: undergo the biomedical and metabolic processes of respiration by taking up oxygen and producing carbon monoxide.",
			wantLex: "verb.body",
		},
		{
			name:    "examples with semicolons inside quotes",
			line:    `00150082 04 n 03 untying 0 undoing 1 unfastening 0 005 @ 00148682 n 0000 + 01346975 v 0301 + 01346822 v 0301 + 01287511 v 0202 + 01287511 v 0101 | loosening the ties that fasten something; "the tying of bow ties is an art; the untying is easy"  `,
			want:    `untying, undoing, unfastening: loosening the ties that fasten something. "the tying of bow ties is an art; the untying is easy"`,
			wantLex: "noun.act",
		},
		{
			name:    "lexicographer file out of range",
			line:    "00001740 45 n 01 entity 0 000 | gloss",
			wantErr: `field lex_filenum "45" is not a lexicographer file number (00-44)`,
		},
		{
			name:    "no gloss separator",
			line:    "00001740 03 n 01 entity 0 000",
			wantErr: `no " | " before the gloss`,
		},
		{
			name:    "pointer count too large",
			line:    "00001740 03 n 01 entity 0 009 ~ 00001930 n 0000 | gloss",
			wantErr: "p_cnt is 9 but the line has too few pointer fields",
		},
		{
			name:    "word count too large",
			line:    "00001740 03 n 05 entity 0 000 | gloss",
			wantErr: "w_cnt is 5 but the line has too few word fields",
		},
		{
			name:    "extra fields",
			line:    "00001740 03 n 01 entity 0 000 junk | gloss",
			wantErr: "8 fields before the gloss, counts say 7",
		},
		{
			name:    "bad part of speech",
			line:    "00001740 03 x 01 entity 0 000 | gloss",
			wantErr: `field ss_type "x" is not one of n v a s r`,
		},
		{
			name:    "verb without frame count",
			line:    "00001740 29 v 01 breathe 0 000 | gloss",
			wantErr: "verb synset has no f_cnt field",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSynset(tc.line)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.render(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			if s.LexFile != tc.wantLex {
				t.Errorf("lexicographer file %q, want %q", s.LexFile, tc.wantLex)
			}
		})
	}
}

func TestWordNetDocsErrorNamesLine(t *testing.T) {
	in := "  1 header\n" + entityLine + "\n00001930 03 n 01 physical_entity 0 007 | cut short\n"
	_, err := wordnetDocs(strings.NewReader(in), "noun")
	want := "line 3: p_cnt is 7 but the line has too few pointer fields"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}
