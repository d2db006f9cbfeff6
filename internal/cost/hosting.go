package cost

// Dedicated hosting is the cost that does not depend on calls: a machine
// or a provider deployment paid for by the hour while it runs, called or
// not. tunelab never supplies a figure for it; only a lab's own
// (models[].hosting, local.hourly_usd) goes into the numbers, because what
// providers bill for hosting differs:
//
//   - OpenAI bills a fine-tuned model per token only: training per token,
//     then its calls per token at the tuned model's price, with no hosting
//     fee. OpenAI's own pricing page was not in the searchable corpus; the
//     third-party transcriptions of it that prices.yaml cites for
//     fine-tuning describe exactly these two parts, as do
//     https://artificial-intelligence-wiki.com/ai-development/training-and-fine-tuning/openai-fine-tuning-pricing
//     and https://huggingface.co/HuggingFaceH4/zephyr-7b-alpha/discussions/12
//     (looked up 2026-11-23). One blog (tokenmix.ai, April 2026) claims an
//     hourly OpenAI hosting fee; no other source says so and its figures
//     match Azure's, so tunelab adds none.
//   - Azure OpenAI bills a deployed fine-tuned model an hourly hosting fee
//     whether or not it is called, on top of its tokens, except on the
//     24-hour Developer tier:
//     https://learn.microsoft.com/en-us/azure/ai-services/openai/how-to/fine-tuning-deploy,
//     https://learn.microsoft.com/zh-cn/azure/ai-services/openai/how-to/manage-costs and
//     https://learn.microsoft.com/en-us/azure/ai-services/openai/how-to/fine-tune-test
//     (looked up 2026-11-23). A lab that deploys there sets the fee it is
//     charged as hosting.hourly_usd.
//   - A machine of the team's own that serves only this model is paid for
//     every hour whether busy or idle, and serves as many calls as its
//     measured seconds per call and its parallel slots allow.

// MonthlyFromHourly is what a deployment billed hourlyUSD an hour costs
// in a month of DaysPerMonth days, running around the clock.
func MonthlyFromHourly(hourlyUSD float64) float64 { return hourlyUSD * 24 * DaysPerMonth }

// CapacityPerDay is how many calls a day one machine serves when each call
// keeps one of its parallel slots busy for secondsPerCall. It is 0
// (unknown) without a measured time.
func CapacityPerDay(secondsPerCall float64, parallel int) float64 {
	if secondsPerCall <= 0 {
		return 0
	}
	return float64(max(parallel, 1)) * 86_400 / secondsPerCall
}
