package cost

import (
	"strings"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"

	"github.com/tunelab/tunelab/internal/provider"
)

// tiktoken's default loader downloads the BPE tables on first use. tunelab
// must run offline (and local-only labs must never touch the network), so
// the tables come from the copies compiled into tiktoken-go-loader. Setting
// it at init means any later use of tiktoken in the binary is offline too.
func init() {
	tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
}

// Encoding names.
const (
	EncodingO200K  = "o200k_base"
	EncodingCL100K = "cl100k_base"
)

// o200kPrefixes are the OpenAI model families tokenised with o200k_base.
var o200kPrefixes = []string{"gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "gpt-oss", "o1", "o3", "o4"}

// EncodingFor names the tokenizer CountTokens uses for a model: o200k_base
// for OpenAI's GPT-4o, GPT-4.1, GPT-4.5, GPT-5 and o-series models
// (including dated snapshots and fine-tunes, "ft:gpt-4o-mini-…"), and
// cl100k_base for everything else. For non-OpenAI models (Claude, Gemini,
// Llama, Qwen) this is an approximation: their tokenizers differ, and
// counts can be off by tens of percent. Use it to estimate and compare
// prompt sizes; bill from the usage the provider reports.
func EncodingFor(model string) string {
	m := strings.ToLower(strings.TrimSpace(model))
	m = strings.TrimPrefix(m, "ft:")
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:] // "openai/gpt-4o" as routers write it
	}
	for _, p := range o200kPrefixes {
		if m == p || strings.HasPrefix(m, p+"-") || strings.HasPrefix(m, p+".") || strings.HasPrefix(m, p+":") {
			return EncodingO200K
		}
	}
	return EncodingCL100K
}

type encoder struct {
	once sync.Once
	tk   *tiktoken.Tiktoken
	err  error
}

// Building an encoder parses a multi-megabyte table, so each is built once
// and shared; tiktoken's encoders are safe for concurrent use.
var encoders = map[string]*encoder{
	EncodingO200K:  {},
	EncodingCL100K: {},
}

func getEncoder(name string) (*tiktoken.Tiktoken, error) {
	e := encoders[name]
	e.once.Do(func() { e.tk, e.err = tiktoken.GetEncoding(name) })
	return e.tk, e.err
}

// CountTokens counts text's tokens with the model's tokenizer (see
// EncodingFor). Special-token markers such as "<|endoftext|>" in the text
// are counted as ordinary text, as an API counts user content. Should the
// embedded tables fail to load (a broken build, never a runtime
// condition), it falls back to one token per four bytes, the usual rule of
// thumb for English, rather than failing a cost estimate.
func CountTokens(model, text string) int {
	if text == "" {
		return 0
	}
	tk, err := getEncoder(EncodingFor(model))
	if err != nil {
		return (len(text) + 3) / 4
	}
	return len(tk.EncodeOrdinary(text))
}

// Chat formatting overhead in tokens, as OpenAI documents for its chat
// models: each message is wrapped in start, role and end markers, and the
// reply is primed with an assistant header.
const (
	tokensPerMessage = 3
	tokensReplyPrime = 3
)

// CountMessages estimates the prompt tokens of a chat request: each
// message's role and content plus a fixed per-message overhead, and the
// priming of the reply. It matches the usage OpenAI reports for plain text
// messages to within a few tokens; for other providers it is as
// approximate as CountTokens.
func CountMessages(model string, msgs []provider.Message) int {
	if len(msgs) == 0 {
		return 0
	}
	n := tokensReplyPrime
	for _, m := range msgs {
		n += tokensPerMessage + CountTokens(model, m.Role) + CountTokens(model, m.Content)
	}
	return n
}
