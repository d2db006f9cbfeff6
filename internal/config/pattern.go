package config

import (
	"fmt"
	"regexp"
)

// compileAnswerPattern checks an answer-extraction pattern: it must compile
// and have a group, since the first group is what the scorers see.
func compileAnswerPattern(p string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("not a valid regular expression: %v", err)
	}
	if re.NumSubexp() < 1 {
		return nil, fmt.Errorf("needs a group, e.g. (?i)answer:\\s*(.+), whose text becomes the answer")
	}
	return re, nil
}
