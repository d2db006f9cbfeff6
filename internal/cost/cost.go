// Package cost prices what tunelab measures: tokens counted offline with
// OpenAI's tokenizers, a versioned table of API prices (embedded, and
// overridable per lab), the cost of one call at those prices, the cost of
// a fine-tuning job, the cost of running a model on hardware the team
// pays for by the hour, and the monthly bill at a volume: per call,
// dedicated hosting (rising in replica steps where a deployment's capacity
// is known) and training, with the volumes where the cheaper of two
// candidates changes.
package cost

// perM converts "USD per million tokens" to USD per token.
const perM = 1e-6

// Price is what one model costs, in USD per million tokens.
type Price struct {
	InputPerM  float64 `yaml:"input" json:"input"`
	OutputPerM float64 `yaml:"output" json:"output"`
	// CachedInputPerM is the price of prompt tokens served from the
	// provider's prompt cache; 0 means the table does not know it.
	CachedInputPerM float64 `yaml:"cached_input,omitempty" json:"cached_input,omitempty"`
	// Source says where the price came from (a source id of the table, or
	// the override file).
	Source string `yaml:"-" json:"source,omitempty"`
}

// FineTunePrice is what supervised fine-tuning of one base model costs:
// training per million training tokens, and the tuned model's own
// inference price, which providers set above the base model's.
type FineTunePrice struct {
	TrainingPerM float64 `json:"training"`
	Inference    Price   `json:"inference"`
}

// CallCost is the USD cost of one call: input and output tokens at the
// model's price. It counts every input token at the uncached price, the
// worst case; CachedCallCost credits cache hits.
func CallCost(p Price, tokensIn, tokensOut int) float64 {
	return float64(tokensIn)*p.InputPerM*perM + float64(tokensOut)*p.OutputPerM*perM
}

// CachedCallCost is CallCost with cachedIn of the tokensIn served from the
// prompt cache. Where the table has no cached price, cache hits are charged
// as ordinary input, so the figure never understates the bill.
func CachedCallCost(p Price, tokensIn, cachedIn, tokensOut int) float64 {
	cachedIn = min(max(cachedIn, 0), tokensIn)
	cachedPrice := p.CachedInputPerM
	if cachedPrice <= 0 {
		cachedPrice = p.InputPerM
	}
	return float64(tokensIn-cachedIn)*p.InputPerM*perM + float64(cachedIn)*cachedPrice*perM + float64(tokensOut)*p.OutputPerM*perM
}

// TrainingCost is the USD cost of a fine-tuning job: providers bill every
// epoch's pass over the training data, so the dataset's tokens times the
// number of epochs, at the training price.
func TrainingCost(p FineTunePrice, datasetTokens, epochs int) float64 {
	if datasetTokens <= 0 || epochs <= 0 {
		return 0
	}
	return float64(datasetTokens) * float64(epochs) * p.TrainingPerM * perM
}

// LocalCost is the USD cost of running a model on owned or rented hardware
// for the measured CPU or GPU seconds, at what an hour of that machine
// costs. Negative or unset inputs cost nothing: a lab without an hourly
// price reports local calls as free, which they are at the margin.
func LocalCost(seconds, hourlyUSD float64) float64 {
	if seconds <= 0 || hourlyUSD <= 0 {
		return 0
	}
	return seconds / 3600 * hourlyUSD
}
