package sigmaql

import (
	"fmt"
	"strings"
)

// condError is a condition syntax error at byte offset at of the condition text.
type condError struct {
	at  int
	msg string
}

func (e *condError) Error() string { return fmt.Sprintf("column %d: %s", e.at+1, e.msg) }

// maxCondDepth bounds the nesting of parentheses and 'not' so that a hostile condition
// cannot exhaust the stack.
const maxCondDepth = 256

// legacyAggregation is the reason given for Sigma v1 aggregations in conditions.
const legacyAggregation = "is a legacy Sigma v1 aggregation; express it as a correlation rule"

type condTok struct {
	text string // "(", ")", "|" or a word
	at   int
}

func lexCondition(s string) []condTok {
	var toks []condTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '|':
			toks = append(toks, condTok{text: s[i : i+1], at: i})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()|", rune(s[j])) {
				j++
			}
			toks = append(toks, condTok{text: s[i:j], at: i})
			i = j
		}
	}
	return toks
}

// condParser is a recursive-descent parser with the precedence
// or < and < not < x of < parentheses.
type condParser struct {
	src   string
	toks  []condTok
	pos   int
	depth int
}

// parseCondition parses a condition string into its AST. Identifiers are not checked
// against the detection here.
func parseCondition(s string) (condNode, error) {
	p := &condParser{src: s, toks: lexCondition(s)}
	if len(p.toks) == 0 {
		return nil, &condError{at: 0, msg: "empty condition"}
	}
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, p.unexpected(p.toks[p.pos], "expected 'and', 'or' or end of condition")
	}
	return x, nil
}

func (p *condParser) peek() (condTok, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return condTok{at: len(p.src)}, false
}

func (p *condParser) unexpected(t condTok, want string) error {
	switch t.text {
	case "|":
		return &condError{at: t.at, msg: "'|' aggregation " + legacyAggregation}
	case "near":
		return &condError{at: t.at, msg: "'near' " + legacyAggregation}
	}
	return &condError{at: t.at, msg: fmt.Sprintf("unexpected '%s'; %s", t.text, want)}
}

func (p *condParser) parseOr() (condNode, error) {
	x, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	xs := []condNode{x}
	for {
		t, ok := p.peek()
		if !ok || t.text != "or" {
			break
		}
		p.pos++
		y, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	if len(xs) == 1 {
		return x, nil
	}
	return &condOr{xs: xs}, nil
}

func (p *condParser) parseAnd() (condNode, error) {
	x, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	xs := []condNode{x}
	for {
		t, ok := p.peek()
		if !ok || t.text != "and" {
			break
		}
		p.pos++
		y, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	if len(xs) == 1 {
		return x, nil
	}
	return &condAnd{xs: xs}, nil
}

func (p *condParser) parseNot() (condNode, error) {
	t, ok := p.peek()
	if ok && t.text == "not" {
		p.pos++
		if p.depth++; p.depth > maxCondDepth {
			return nil, &condError{at: t.at, msg: "condition is nested too deeply"}
		}
		x, err := p.parseNot()
		p.depth--
		if err != nil {
			return nil, err
		}
		return &condNot{x: x}, nil
	}
	return p.parsePrimary()
}

func isCondKeyword(s string) bool {
	switch s {
	case "and", "or", "not", "of", "them", "near":
		return true
	}
	return false
}

func (p *condParser) parsePrimary() (condNode, error) {
	t, ok := p.peek()
	if !ok {
		return nil, &condError{at: len(p.src), msg: "unexpected end of condition"}
	}
	switch {
	case t.text == "(":
		p.pos++
		if p.depth++; p.depth > maxCondDepth {
			return nil, &condError{at: t.at, msg: "condition is nested too deeply"}
		}
		x, err := p.parseOr()
		p.depth--
		if err != nil {
			return nil, err
		}
		c, ok := p.peek()
		if !ok {
			return nil, &condError{at: t.at, msg: "unclosed '('"}
		}
		if c.text != ")" {
			return nil, p.unexpected(c, "expected ')'")
		}
		p.pos++
		return x, nil
	case t.text == ")" || t.text == "|" || isCondKeyword(t.text):
		return nil, p.unexpected(t, "expected a search identifier, 'not', 'x of' or '('")
	}
	// A word: an identifier, or the quantifier of "x of pattern".
	p.pos++
	if n, ok := p.peek(); ok && n.text == "of" {
		p.pos++
		var all bool
		switch t.text {
		case "1", "any":
		case "all":
			all = true
		default:
			if strings.Trim(t.text, "0123456789") == "" {
				return nil, &condError{at: t.at, msg: fmt.Sprintf("'%s of' is not supported; use '1 of' or 'all of'", t.text)}
			}
			return nil, &condError{at: t.at, msg: fmt.Sprintf("expected '1', 'any' or 'all' before 'of', got '%s'", t.text)}
		}
		pat, ok := p.peek()
		if !ok {
			return nil, &condError{at: len(p.src), msg: "expected a pattern or 'them' after 'of'"}
		}
		if pat.text != "them" && (pat.text == "(" || pat.text == ")" || pat.text == "|" || isCondKeyword(pat.text)) {
			return nil, p.unexpected(pat, "expected a pattern or 'them' after 'of'")
		}
		p.pos++
		return &condOf{all: all, pattern: pat.text, at: t.at}, nil
	}
	if t.text == "all" || t.text == "any" {
		return nil, &condError{at: t.at, msg: fmt.Sprintf("'%s' must be followed by 'of'", t.text)}
	}
	return &condIdent{name: t.text, at: t.at}, nil
}
