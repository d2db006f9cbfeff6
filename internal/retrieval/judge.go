package retrieval

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Groundedness judged by a model: the judge reads the passages an answer
// was given and the answer, splits the answer into claims and sorts them
// into supported and unsupported. Word overlap (Groundedness) cannot tell
// "refunds take 5 days" from "refunds take 50 days" when both numbers are
// in the passages; a judge can. This file holds the judge's prompt and the
// reading of its reply; the call goes through the same provider, retries
// and response cache as every other model call (see internal/eval).

// groundingSystem frames the judge; the instructions in the user turn
// carry the details.
const groundingSystem = "You check whether an AI system's answer is supported by the passages it was given. " +
	"Judge only against the passages, never against what you know yourself, and reply with a JSON object only."

// GroundingPrompt returns the system and user turns asking a judge whether
// every claim in answer is supported by the passages retrieved for
// question. Each part is fenced so that text inside an answer or a
// passage cannot pose as the instructions.
func GroundingPrompt(question, answer string, hits []Hit) (system, user string) {
	var b strings.Builder
	fmt.Fprintf(&b, "Question the AI system answered:\n<question>\n%s\n</question>\n\n", strings.TrimSpace(question))
	b.WriteString("Passages it was given:\n<passages>\n")
	if len(hits) == 0 {
		b.WriteString("(none)\n")
	}
	for _, h := range hits {
		fmt.Fprintf(&b, "[%s]", h.Chunk.ID)
		if l := h.Chunk.Label(); l != "" {
			b.WriteString(" " + l)
		}
		b.WriteString("\n" + strings.TrimSpace(h.Chunk.Text) + "\n\n")
	}
	b.WriteString("</passages>\n\n")
	fmt.Fprintf(&b, "Answer to check:\n<answer>\n%s\n</answer>\n\n", strings.TrimSpace(answer))
	b.WriteString("Split the answer into its factual claims, each as a short sentence. " +
		"A claim is supported when the passages state it or it follows directly from them; " +
		"a claim the passages do not contain, or contradict, is unsupported, even if it is true. " +
		"Citations of passage ids, wording and politeness are not claims. " +
		"An answer that claims nothing (a refusal, \"I don't know\") has no claims.\n\n" +
		`Reply with only this JSON object: {"supported": ["<claim>", ...], "unsupported": ["<claim>", ...]}`)
	return groundingSystem, b.String()
}

// Grounding is a judge's verdict on one answer.
type Grounding struct {
	Supported   int
	Unsupported int
	// Claims are the unsupported claims, when the judge listed them.
	Claims []string
}

// Value is the share of the answer's claims the passages support; ok is
// false when the answer made no claim, which (as with word overlap) is
// neither grounded nor a hallucination.
func (g Grounding) Value() (value float64, ok bool) {
	n := g.Supported + g.Unsupported
	if n == 0 {
		return 0, false
	}
	return float64(g.Supported) / float64(n), true
}

// Grounded reports whether no claim is unsupported.
func (g Grounding) Grounded() bool { return g.Unsupported == 0 }

// Reason says what was unsupported, for the result's score.
func (g Grounding) Reason() string {
	if g.Unsupported == 0 {
		return ""
	}
	s := fmt.Sprintf("%d of %d claims not supported by the retrieved text", g.Unsupported, g.Supported+g.Unsupported)
	if len(g.Claims) > 0 {
		quoted := make([]string, len(g.Claims))
		for i, c := range g.Claims {
			quoted[i] = strconv.Quote(c)
		}
		s += ": " + strings.Join(quoted, "; ")
	}
	return clip(s, 400)
}

var (
	supportedKeys   = []string{"supported", "supported_claims", "supportedclaims"}
	unsupportedKeys = []string{"unsupported", "unsupported_claims", "unsupportedclaims", "not_supported", "hallucinated"}
	// "Verdict: unsupported", "**Verdict:** SUPPORTED".
	verdictRE = regexp.MustCompile(`(?i)\bverdict\b[*_\s]*[:=][*_\s]*(not supported|unsupported|partially supported|supported|ungrounded|grounded)\b`)
)

// ParseGrounding reads a judge's reply. It takes the first JSON object
// (inside code fences or prose too) with supported and/or unsupported
// claims, given as lists of claims or as counts (keys in any case, a
// "_claims" suffix allowed); failing that, a labelled verdict ("Verdict:
// supported"), which counts as one claim. A reply with neither is an
// error, never a verdict: a judge's slip must not read as a hallucination.
func ParseGrounding(reply string) (Grounding, error) {
	for i := 0; i < len(reply); i++ {
		if reply[i] != '{' {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.NewDecoder(strings.NewReader(reply[i:])).Decode(&obj); err != nil {
			continue
		}
		g, found, err := groundingFromJSON(obj)
		if err != nil {
			return Grounding{}, fmt.Errorf("%w in judge reply %q", err, clip(reply, 200))
		}
		if found {
			return g, nil
		}
	}
	if ms := verdictRE.FindAllStringSubmatch(reply, -1); len(ms) > 0 {
		switch v := strings.ToLower(ms[len(ms)-1][1]); v {
		case "supported", "grounded":
			return Grounding{Supported: 1}, nil
		default:
			return Grounding{Unsupported: 1, Claims: []string{"verdict: " + v}}, nil
		}
	}
	return Grounding{}, fmt.Errorf("no supported or unsupported claims in judge reply %q", clip(reply, 200))
}

func groundingFromJSON(obj map[string]json.RawMessage) (g Grounding, found bool, err error) {
	lower := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		lower[strings.ToLower(strings.TrimSpace(k))] = v
	}
	for side, keys := range [][]string{supportedKeys, unsupportedKeys} {
		for _, k := range keys {
			raw, ok := lower[k]
			if !ok {
				continue
			}
			n, claims, err := claimList(raw)
			if err != nil {
				return g, false, fmt.Errorf("%q: %w", k, err)
			}
			found = true
			if side == 0 {
				g.Supported += n
			} else {
				g.Unsupported += n
				g.Claims = append(g.Claims, claims...)
			}
			break
		}
	}
	return g, found, nil
}

// claimList reads a list of claims (strings, or objects with a "claim" or
// "text"), or a count.
func claimList(raw json.RawMessage) (int, []string, error) {
	var n float64
	if err := json.Unmarshal(raw, &n); err == nil {
		if n < 0 || n != float64(int(n)) {
			return 0, nil, fmt.Errorf("count %v is not a whole number of claims", n)
		}
		return int(n), nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return 0, nil, fmt.Errorf("want a list of claims or a count, got %s", clip(string(raw), 60))
	}
	var claims []string
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			claims = append(claims, strings.TrimSpace(s))
			continue
		}
		var o map[string]any
		if json.Unmarshal(it, &o) == nil {
			for _, k := range []string{"claim", "text", "statement"} {
				if s, ok := o[k].(string); ok {
					claims = append(claims, strings.TrimSpace(s))
					break
				}
			}
			continue
		}
		claims = append(claims, strings.TrimSpace(string(it)))
	}
	return len(items), claims, nil
}

// clip shortens s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
