package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/testutil/golden"
)

func TestBrownParagraphsGolden(t *testing.T) {
	cases := []struct{ name string }{
		{"headline"},
		{"single_quotes"},
		{"quote_across_lines"},
		{"parens"},
		{"inch_marks"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "brown", tc.name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			paras, err := brownParagraphs(f)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "brown", tc.name+".golden"), strings.Join(paras, "\n")+"\n")
		})
	}
}

func TestBrownParagraphsInline(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "quotes and punctuation attach",
			in:   "\t``/`` Yes/rb ''/'' ,/, he/pps said/vbd (/( twice/rb )/) ;/. ;/.\n",
			want: []string{`"Yes", he said (twice);`},
		},
		{
			name: "abbreviation absorbs sentence period",
			in:   "It/pps was/bedz Jr./np ./.\n",
			want: []string{"It was Jr."},
		},
		{
			name: "blank lines separate paragraphs, lines of one paragraph join",
			in:   "\tA/at b/nn ./.\nC/np d/vb ./.\n\n\n\tE/np ./.\n",
			want: []string{"A b. C d.", "E."},
		},
		{
			name: "headline is its own paragraph and keeps its case",
			in:   "Merger/nn-hl proposed/vbn-hl \nThe/at Fulton/np-tl jury/nn ./.\n",
			want: []string{"Merger proposed", "The Fulton jury."},
		},
		{
			name: "single quote between words follows the open state",
			in:   "more/ap '/' pro/jj '/' than/in '/' con/jj '/' ./.\n",
			want: []string{"more 'pro' than 'con'."},
		},
		{
			name: "slash inside a word",
			in:   "1-1/2/cd and/cc //in or/cc\n",
			want: []string{"1-1/2 and / or"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := brownParagraphs(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBrownParagraphsErrors(t *testing.T) {
	cases := []struct {
		name, in, wantErr string
	}{
		{"no tag", "The/at jury\n", `line 1: token "jury" is not word/tag`},
		{"empty tag", "\n\nThe/at jury/\n", `line 3: token "jury/" is not word/tag`},
		{"empty word", "/nn\n", `line 1: token "/nn" is not word/tag`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := brownParagraphs(strings.NewReader(tc.in))
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
