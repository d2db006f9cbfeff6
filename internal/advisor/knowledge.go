package advisor

import (
	"fmt"
	"strings"
)

// Knowledge is the ladder's retrieval (RAG) rung as evidence: the same
// prompt asked questions that the task's knowledge answers, with and
// without retrieved chunks, on each model.
type Knowledge struct {
	RunID     string `json:"run_id"`
	Questions int    `json:"questions"`
	Prompt    string `json:"prompt"`
	Scorer    string `json:"scorer"`
	Mode      string `json:"mode"`
	K         int    `json:"k"`
	// Recall is mean recall@K of the questions' source documents, MRR
	// their mean reciprocal rank (retrieval does not depend on the model).
	Recall float64          `json:"recall_at_k"`
	MRR    float64          `json:"mrr"`
	Models []KnowledgeModel `json:"models"`
}

// KnowledgeModel is one model's answers with and without retrieval, with
// the paired test between them.
type KnowledgeModel struct {
	Model    string  `json:"model"`
	Without  string  `json:"without_candidate"`
	With     string  `json:"with_candidate"`
	Accuracy float64 `json:"accuracy_without"`
	RAG      float64 `json:"accuracy_with"`
	Diff     float64 `json:"diff"` // with minus without
	DiffLow  float64 `json:"diff_low"`
	DiffHigh float64 `json:"diff_high"`
	P        float64 `json:"p"`
	// Significant is set when McNemar's test on the paired answers gives
	// p < 0.05.
	Significant bool `json:"significant"`
	// Groundedness and HallucinationRate measure the answers given with
	// retrieval against the retrieved text.
	Groundedness      float64 `json:"groundedness"`
	HallucinationRate float64 `json:"hallucination_rate"`
}

// KnowledgeReasons says in sentences what the RAG rung found, citing the
// numbers, for the verdict.
func KnowledgeReasons(k *Knowledge) []string {
	if k == nil || len(k.Models) == 0 {
		return nil
	}
	rs := []string{fmt.Sprintf("On %d questions the knowledge answers, retrieval (%s, k=%d) finds the right document in the top %d for %s of them (MRR %.2f).",
		k.Questions, k.Mode, k.K, k.K, pct(k.Recall), k.MRR)}
	var helped, none []string
	for _, m := range k.Models {
		d := fmt.Sprintf("%s %s -> %s (%+.1f points, 95%% CI %+.1f to %+.1f, p=%.2g)", m.Model, pct(m.Accuracy), pct(m.RAG), 100*m.Diff, 100*m.DiffLow, 100*m.DiffHigh, m.P)
		if m.Significant && m.Diff > 0 {
			helped = append(helped, d)
		} else {
			none = append(none, d)
		}
	}
	if len(helped) > 0 {
		rs = append(rs, "Retrieval significantly improves answers to knowledge questions: "+strings.Join(helped, "; ")+".")
	}
	if len(none) > 0 {
		rs = append(rs, "Retrieval makes no significant difference for "+strings.Join(none, "; ")+"; on this evidence retrieval is not worth adding to these models.")
	}
	return rs
}
