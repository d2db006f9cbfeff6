package engine

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unsafe"
)

// Message is one chat turn.
type Message struct {
	Role    string
	Content string
}

// ApplyChatTemplate renders messages into a prompt with the model's chat
// template, ending with the assistant's turn opened when addAssistant is
// set. Models without a template, or with one llama.cpp does not know,
// get a plain "Role: content" layout instead, which base models continue
// sensibly.
func (m *Model) ApplyChatTemplate(msgs []Message, addAssistant bool) (string, error) {
	if err := m.acquire(); err != nil {
		return "", err
	}
	defer m.life.RUnlock()
	return m.applyTemplate(msgs, addAssistant)
}

// ChatExample renders a chat and its answer as a training example: the
// prompt is the chat with the assistant's turn opened, the completion the
// answer with the template's end-of-turn marker. Both are tokenized as the
// engine reads a chat (BOS, special tokens parsed), so training sees what
// inference will.
func (m *Model) ChatExample(msgs []Message, answer string) (prompt, completion []int32, err error) {
	prefix, err := m.ApplyChatTemplate(msgs, true)
	if err != nil {
		return nil, nil, err
	}
	full, err := m.ApplyChatTemplate(append(msgs[:len(msgs):len(msgs)], Message{Role: "assistant", Content: answer}), false)
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasPrefix(full, prefix) {
		return nil, nil, fmt.Errorf("the chat template renders the answer's turn differently from an open one; this template cannot be trained on")
	}
	if prompt, err = m.Tokenize(prefix, true, true); err != nil {
		return nil, nil, err
	}
	if completion, err = m.Tokenize(full[len(prefix):], false, true); err != nil {
		return nil, nil, err
	}
	return prompt, completion, nil
}

func (m *Model) applyTemplate(msgs []Message, addAssistant bool) (string, error) {
	if len(msgs) == 0 {
		return "", fmt.Errorf("chat: no messages")
	}
	if m.info.ChatTemplate == "" {
		return plainTemplate(msgs, addAssistant), nil
	}
	cmsgs := (*[1 << 20]C.llama_chat_message)(C.malloc(C.size_t(len(msgs)) * C.size_t(unsafe.Sizeof(C.llama_chat_message{}))))[:len(msgs):len(msgs)]
	defer C.free(unsafe.Pointer(&cmsgs[0]))
	total := 0
	for i, msg := range msgs {
		cmsgs[i].role = C.CString(msg.Role)
		cmsgs[i].content = C.CString(msg.Content)
		total += len(msg.Role) + len(msg.Content)
	}
	defer func() {
		for i := range cmsgs {
			C.free(unsafe.Pointer(cmsgs[i].role))
			C.free(unsafe.Pointer(cmsgs[i].content))
		}
	}()
	tmpl := C.CString(m.info.ChatTemplate)
	defer C.free(unsafe.Pointer(tmpl))

	buf := make([]byte, 2*total+512)
	for range 2 {
		n := C.tl_apply_template(tmpl, &cmsgs[0], C.size_t(len(msgs)), C.bool(addAssistant), (*C.char)(unsafe.Pointer(&buf[0])), C.int32_t(len(buf)))
		if n < 0 {
			// A template llama.cpp cannot interpret (it matches known
			// templates by their markers rather than running Jinja).
			return plainTemplate(msgs, addAssistant), nil
		}
		if int(n) <= len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, n)
	}
	return "", fmt.Errorf("chat: the template's output kept growing")
}

func plainTemplate(msgs []Message, addAssistant bool) string {
	var sb strings.Builder
	for _, msg := range msgs {
		sb.WriteString(titleCase(msg.Role))
		sb.WriteString(": ")
		sb.WriteString(msg.Content)
		sb.WriteString("\n\n")
	}
	if addAssistant {
		sb.WriteString("Assistant:")
	}
	return sb.String()
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// Chat renders msgs with the chat template and generates the assistant's
// reply.
func (m *Model) Chat(ctx context.Context, msgs []Message, opts GenerateOptions, onText func(string)) (*Result, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.life.RUnlock()
	prompt, err := m.applyTemplate(msgs, true)
	if err != nil {
		return nil, err
	}
	toks, err := m.tokenize(prompt, true, true)
	if err != nil {
		return nil, err
	}
	return m.generate(ctx, toks, opts, onText)
}
