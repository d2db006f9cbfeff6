package lab

// Prompt techniques a variant can start from. Each is a preset that fills
// the variant's fields the user left empty; the prompt package expands them.
const (
	TechZeroShot       = "zero-shot"
	TechInstructions   = "instructions"
	TechRole           = "role"
	TechFewShot        = "few-shot"
	TechChainOfThought = "chain-of-thought"
	TechJSON           = "json"
	TechOptimized      = "optimized" // written by the optimiser, never by hand
)

// Techniques lists the presets a user may name.
var Techniques = []string{TechZeroShot, TechInstructions, TechRole, TechFewShot, TechChainOfThought, TechJSON}

// ScorerTypes lists the scorer types a user may name.
var ScorerTypes = []string{"exact", "normalized", "label", "contains", "regex", "json-schema", "json-field", "f1", "rouge-l", "embedding", "judge"}
