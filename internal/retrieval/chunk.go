// Package retrieval is tunelab's retrieval (RAG) core: it loads a task's
// knowledge (Markdown, text, HTML, the text of PDFs page by page, and JSONL
// records), splits it into heading-aware chunks, indexes them for BM25
// search (SQLite FTS5) and exact cosine search over caller-supplied
// embeddings, fuses ranked lists with reciprocal rank fusion, and scores
// retrieval with recall@k and MRR and answers' groundedness by word overlap
// or, with the prompt and reply reading here, by a model judge. It imports
// no provider: embeddings come in through an EmbedFunc and the judge is
// called by internal/eval, so the same index serves every backend.
package retrieval

import (
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Document is one knowledge file, or one record of a JSONL file. ID is
// stable across runs (the path relative to the loaded folder, with
// "#record-id" for a record) so re-indexing can tell an edited document
// from a new one; Hash is the content hash that decides whether it changed.
type Document struct {
	ID   string
	Path string
	Text string
	Hash string
	// Title, when set, heads the heading path of every chunk (a JSONL
	// record's title), because a record's text rarely repeats it.
	Title string
	// Plain marks text that is not Markdown (extracted from a PDF): none of
	// its lines is read as a heading or a code fence, since "# of units"
	// on a PDF page is prose.
	Plain bool
	// Pages are the byte offsets in Text at which each page starts (PDFs),
	// so a chunk can say which pages it comes from.
	Pages []int
	// Loc is where the document comes from when that is not a file of its
	// own (a JSONL record's url); every chunk carries it.
	Loc string
}

// Chunk is a retrievable piece of a Document. Start and End are byte
// offsets into Document.Text, so Text == doc.Text[Start:End]; Heading is
// the path of headings above it ("Refund policy > Exceptions"), kept
// because a paragraph often only makes sense with its section title. Loc
// says where in its source the chunk is, for citing it: "page 3" or
// "pages 3-4" in a PDF, a JSONL record's url; it is not searched, so a
// page number cannot make a chunk match a query's number.
type Chunk struct {
	ID      string
	DocID   string
	Heading string
	Text    string
	Start   int
	End     int
	Loc     string `json:",omitempty"`
}

// Label is the chunk's heading and location as shown beside its text:
// "Warranty > Claims", "Warranty (page 3)", "page 3".
func (c Chunk) Label() string {
	switch {
	case c.Loc == "":
		return c.Heading
	case c.Heading == "":
		return c.Loc
	default:
		return c.Heading + " (" + c.Loc + ")"
	}
}

// ChunkOptions controls packing. Zero values take the defaults.
type ChunkOptions struct {
	MaxTokens int              // at most this many tokens per chunk (default 200)
	Overlap   int              // tokens repeated from the previous chunk of the same section (default 30)
	Tokens    func(string) int // token counter (default EstimateTokens)
}

const (
	defaultMaxTokens = 200
	defaultOverlap   = 30
)

// EstimateTokens approximates a token count as words*4/3 (rounded up),
// which is close to what BPE tokenizers give for English prose and needs no
// model-specific vocabulary.
func EstimateTokens(s string) int {
	return (len(strings.Fields(s))*4 + 2) / 3
}

func (o ChunkOptions) withDefaults() ChunkOptions {
	if o.MaxTokens <= 0 {
		o.MaxTokens = defaultMaxTokens
	}
	if o.Overlap < 0 {
		o.Overlap = 0
	} else if o.Overlap == 0 {
		o.Overlap = defaultOverlap
	}
	// An overlap as large as the chunk would make no progress.
	if o.Overlap > o.MaxTokens/2 {
		o.Overlap = o.MaxTokens / 2
	}
	if o.Tokens == nil {
		o.Tokens = EstimateTokens
	}
	return o
}

// span is a byte range [start, end) of the document text.
type span struct{ start, end int }

// section is the body of one heading: its heading path and its paragraphs,
// each paragraph a list of word spans.
type section struct {
	heading string
	paras   [][]span
}

// ChunkDocument splits doc into chunks: first by Markdown headings and
// blank-line paragraphs, then packing whole paragraphs of one section into
// chunks of at most opts.MaxTokens, splitting a paragraph by words only
// when it alone is too long. Chunks never cross a heading. Consecutive
// chunks of a section share about opts.Overlap tokens so a fact cut at a
// boundary is still whole in one of them. (Named ChunkDocument because Go
// cannot have a function and a type both called Chunk.)
func ChunkDocument(doc Document, opts ChunkOptions) []Chunk {
	opts = opts.withDefaults()
	var out []Chunk
	for _, sec := range sections(doc.Text, doc.Plain, doc.Title) {
		for _, r := range packSection(doc.Text, sec, opts) {
			loc := doc.Loc
			if len(doc.Pages) > 0 {
				loc = pageLoc(doc.Pages, r.start, r.end)
			}
			out = append(out, Chunk{
				ID:      doc.ID + "#" + strconv.Itoa(len(out)),
				DocID:   doc.ID,
				Heading: sec.heading,
				Text:    doc.Text[r.start:r.end],
				Start:   r.start,
				End:     r.end,
				Loc:     loc,
			})
		}
	}
	return out
}

// pageLoc names the pages the byte range [start, end) lies on; pages holds
// each page's starting offset (an empty page starts where the next does,
// so the last page starting at or before an offset is the one holding it).
func pageLoc(pages []int, start, end int) string {
	pageOf := func(off int) int {
		return sort.Search(len(pages), func(i int) bool { return pages[i] > off }) // 1-based page number
	}
	first, last := pageOf(start), pageOf(max(end-1, start))
	if first == last {
		return "page " + strconv.Itoa(max(first, 1))
	}
	return "pages " + strconv.Itoa(max(first, 1)) + "-" + strconv.Itoa(last)
}

// sections walks the text line by line. ATX headings (# to ######) open a
// section; fenced code blocks are opaque so a "# comment" inside one is not
// a heading and the block stays one paragraph. Plain text has neither:
// its sections are its paragraphs under title alone. A non-empty title
// heads every heading path.
func sections(text string, plain bool, title string) []section {
	var (
		out     []section
		stack   []string // heading titles by level-1
		cur     = section{heading: title}
		para    []span
		inFence bool
		fence   string
	)
	flushPara := func() {
		if len(para) > 0 {
			cur.paras = append(cur.paras, para)
			para = nil
		}
	}
	flushSection := func() {
		flushPara()
		if len(cur.paras) > 0 {
			out = append(out, cur)
		}
		cur = section{}
	}
	for pos := 0; pos < len(text); {
		end := strings.IndexByte(text[pos:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += pos
		}
		line := text[pos:end]
		trimmed := strings.TrimSpace(line)
		switch {
		case plain:
			if trimmed == "" {
				flushPara()
			} else {
				para = append(para, words(text, pos, end)...)
			}
		case inFence:
			para = append(para, words(text, pos, end)...)
			if strings.HasPrefix(trimmed, fence) {
				inFence = false
				flushPara()
			}
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			flushPara()
			inFence, fence = true, trimmed[:3]
			para = append(para, words(text, pos, end)...)
		case headingLevel(trimmed) > 0:
			flushSection()
			lvl := headingLevel(trimmed)
			heading := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(trimmed[lvl:]), "#"))
			if len(stack) >= lvl {
				stack = stack[:lvl-1]
			}
			for len(stack) < lvl-1 {
				stack = append(stack, "") // a skipped level, e.g. # then ###
			}
			stack = append(stack, heading)
			cur.heading = joinHeading(append([]string{title}, stack...))
		case trimmed == "":
			flushPara()
		default:
			para = append(para, words(text, pos, end)...)
		}
		pos = end + 1
	}
	flushSection()
	return out
}

// headingLevel returns 1-6 for an ATX heading line, else 0.
func headingLevel(line string) int {
	n := 0
	for n < len(line) && line[n] == '#' {
		n++
	}
	if n == 0 || n > 6 {
		return 0
	}
	if n < len(line) && line[n] != ' ' && line[n] != '\t' {
		return 0 // "#hashtag" is text
	}
	return n
}

func joinHeading(stack []string) string {
	parts := make([]string, 0, len(stack))
	for _, s := range stack {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " > ")
}

// words returns the spans of whitespace-separated words in text[from:to].
func words(text string, from, to int) []span {
	var out []span
	start := -1
	for i, r := range text[from:to] {
		if unicode.IsSpace(r) {
			if start >= 0 {
				out = append(out, span{from + start, from + i})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, span{from + start, to})
	}
	return out
}

// packSection turns a section's paragraphs into chunk byte ranges. It works
// on word indices so overlap and oversized-paragraph splits always fall on
// word boundaries.
func packSection(text string, sec section, opts ChunkOptions) []span {
	var ws []span
	var units [][2]int // word index ranges [a, b) of packable units
	for _, p := range sec.paras {
		base := len(ws)
		ws = append(ws, p...)
		// Pieces of a split paragraph leave room for the overlap in front.
		units = append(units, splitUnit(text, ws, base, len(ws), opts.MaxTokens, opts.MaxTokens-opts.Overlap, opts.Tokens)...)
	}
	tokens := func(a, b int) int { return opts.Tokens(text[ws[a].start:ws[b-1].end]) }

	var out []span
	a, b := -1, -1 // current chunk's word range
	emit := func() { out = append(out, span{ws[a].start, ws[b-1].end}) }
	for _, u := range units {
		if a < 0 {
			a, b = u[0], u[1]
			continue
		}
		if tokens(a, u[1]) <= opts.MaxTokens {
			b = u[1]
			continue
		}
		emit()
		// Start the next chunk with the longest tail of the previous one
		// that fits the overlap budget and still leaves room for the unit.
		na := u[0]
		for o := b - 1; o > a && tokens(o, b) <= opts.Overlap; o-- {
			if tokens(o, u[1]) > opts.MaxTokens {
				break
			}
			na = o
		}
		a, b = na, u[1]
	}
	if a >= 0 {
		emit()
	}
	return out
}

// splitUnit returns [a, b) as one unit when it fits maxTokens, else cut
// greedily into word runs of at most pieceTokens (a single word always forms a unit,
// however long, so progress is guaranteed).
func splitUnit(text string, ws []span, a, b, maxTokens, pieceTokens int, count func(string) int) [][2]int {
	if count(text[ws[a].start:ws[b-1].end]) <= maxTokens {
		return [][2]int{{a, b}}
	}
	maxTokens = pieceTokens
	var out [][2]int
	for a < b {
		e := a + 1
		for e < b && count(text[ws[a].start:ws[e].end]) <= maxTokens {
			e++
		}
		out = append(out, [2]int{a, e})
		a = e
	}
	return out
}
