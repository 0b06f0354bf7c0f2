package scim

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// FilterLimits bounds the work one filter can cause, since filters come from unauthenticated
// query strings as much as from trusted clients. A zero field means the default value.
type FilterLimits struct {
	MaxLength int // bytes of filter text
	MaxDepth  int // nesting of "(...)", "not (...)" and "[...]" groups
	MaxNodes  int // comparisons, presence tests, and, or, not and value paths
}

const (
	defaultMaxFilterLength = 8192
	defaultMaxFilterDepth  = 32
	defaultMaxFilterNodes  = 256
)

// DefaultFilterLimits are the limits ParseFilter and ParsePatchPath apply, for callers that
// want to start from them. Those functions use constants of their own, so assigning to this
// variable does not change them.
var DefaultFilterLimits = FilterLimits{
	MaxLength: defaultMaxFilterLength,
	MaxDepth:  defaultMaxFilterDepth,
	MaxNodes:  defaultMaxFilterNodes,
}

func (l FilterLimits) withDefaults() FilterLimits {
	if l.MaxLength <= 0 {
		l.MaxLength = defaultMaxFilterLength
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxFilterDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = defaultMaxFilterNodes
	}
	return l
}

// PatchPath is a parsed PATCH "path" (RFC 7644 §3.5.2: PATH = attrPath / valuePath [subAttr]).
// For "name.familyName" the sub-attribute is in Attr.Sub and Sub is empty; for
// `emails[type eq "work"].value` Attr names emails, Filter is the value filter and Sub is
// "value". ResolvePatchPath fills Attr's definitions and SubAttr.
type PatchPath struct {
	Attr    AttrPath
	Filter  Filter // nil when the path has no "[...]"
	Sub     string // sub-attribute after "]"
	SubAttr *Attribute
}

// String renders the path as a client would write it.
func (p PatchPath) String() string {
	s := p.Attr.String()
	if p.Filter != nil {
		s += "[…]"
	}
	if p.Sub != "" {
		s += "." + p.Sub
	}
	return s
}

// ParseFilter parses a filter expression (RFC 7644 §3.4.2.2) under DefaultFilterLimits.
// Errors are *Error with scimType invalidFilter. The result's attribute paths are as
// written; ResolveFilter checks them against a resource type.
func ParseFilter(s string) (Filter, error) {
	return ParseFilterWithLimits(s, FilterLimits{})
}

// ParseFilterWithLimits is ParseFilter with explicit limits.
func ParseFilterWithLimits(s string, lim FilterLimits) (Filter, error) {
	lim = lim.withDefaults()
	if len(s) > lim.MaxLength {
		return nil, InvalidFilter("invalid filter: longer than the limit of %d bytes (MaxLength)", lim.MaxLength)
	}
	// A NUL is refused wherever it is, not only inside a string literal: no attribute
	// name, operator or value may hold one, and no store can keep or compare it.
	if i := strings.IndexByte(s, 0); i >= 0 {
		return nil, InvalidFilter("invalid filter at position %d: a NUL character", i)
	}
	p := newParser(s, lim)
	f, err := p.parseFilterText()
	if err != nil {
		return nil, p.toError(err, InvalidFilter, "invalid filter")
	}
	return f, nil
}

// ParsePatchPath parses a PATCH operation's "path". Errors are *Error with scimType
// invalidPath, including those in a value filter.
func ParsePatchPath(s string) (PatchPath, error) {
	lim := FilterLimits{}.withDefaults()
	if len(s) > lim.MaxLength {
		return PatchPath{}, InvalidPath("invalid path: longer than the limit of %d bytes (MaxLength)", lim.MaxLength)
	}
	p := newParser(s, lim)
	pp, err := p.parsePatchPathText()
	if err != nil {
		return PatchPath{}, p.toError(err, InvalidPath, "invalid path")
	}
	return pp, nil
}

// ---- lexer ----

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokString
	tokLParen
	tokRParen
	tokLBracket
	tokRBracket
)

type token struct {
	kind tokKind
	pos  int    // byte offset in the input
	text string // the token's source text
	str  string // decoded value of a tokString
}

// lexer splits filter text into tokens. It is deliberately context-free: a "word" is any run
// of characters other than space, brackets, parentheses and '"', and the parser decides
// whether a word is an attribute path, a keyword or a bare value. That is what lets it accept
// the unquoted values (`userName sw O`) that some clients send, and share one lexer between
// filters and PATCH paths (where `].value` lexes as "]" then the word ".value").
type lexer struct {
	src string
	off int
}

// syntaxError is a parse failure at a byte offset; the entry points turn it into an *Error
// whose kind (invalidFilter or invalidPath) depends on what was being parsed.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDelim(c byte) bool {
	return isSpace(c) || c == '(' || c == ')' || c == '[' || c == ']' || c == '"'
}

func (l *lexer) next() (token, error) {
	for l.off < len(l.src) && isSpace(l.src[l.off]) {
		l.off++
	}
	start := l.off
	if start >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	single := func(k tokKind) (token, error) {
		l.off++
		return token{kind: k, pos: start, text: l.src[start:l.off]}, nil
	}
	switch l.src[start] {
	case '(':
		return single(tokLParen)
	case ')':
		return single(tokRParen)
	case '[':
		return single(tokLBracket)
	case ']':
		return single(tokRBracket)
	case '"':
		return l.lexString()
	}
	for l.off < len(l.src) && !isDelim(l.src[l.off]) {
		l.off++
	}
	return token{kind: tokWord, pos: start, text: l.src[start:l.off]}, nil
}

// lexString reads a JSON string (RFC 7644 §3.4.2.2: compValue is a JSON string, so JSON's
// escapes apply) and decodes it with encoding/json rather than by hand.
func (l *lexer) lexString() (token, error) {
	start := l.off
	i := start + 1
	for ; i < len(l.src); i++ {
		switch l.src[i] {
		case '\\':
			i++ // skip the escaped byte, which may be '"'
		case '"':
			raw := l.src[start : i+1]
			var s string
			if err := json.Unmarshal([]byte(raw), &s); err != nil {
				return token{}, &syntaxError{pos: start, msg: fmt.Sprintf("invalid string literal %s", quoteSnippet(raw))}
			}
			// encoding/json would turn invalid UTF-8 into U+FFFD; a NUL no store can hold.
			if !utf8.ValidString(raw) || strings.ContainsRune(s, 0) {
				return token{}, &syntaxError{pos: start, msg: "a string literal must be UTF-8 without NUL characters"}
			}
			l.off = i + 1
			return token{kind: tokString, pos: start, text: raw, str: s}, nil
		}
	}
	return token{}, &syntaxError{pos: start, msg: "unterminated string literal"}
}

// ---- parser ----

type parser struct {
	lex     lexer
	tok     token // the current, not yet consumed token
	lim     FilterLimits
	depth   int
	nodes   int
	inValue bool // inside "[...]", where value paths may not nest
}

func newParser(s string, lim FilterLimits) *parser {
	return &parser{lex: lexer{src: s}, lim: lim}
}

func (p *parser) toError(err error, mk func(string, ...any) *Error, what string) *Error {
	se, ok := err.(*syntaxError)
	if !ok {
		return mk("%s: %v", what, err)
	}
	// Report a 1-based character position: that is what a person counting along the
	// filter in an error message expects, also for non-ASCII text.
	pos := utf8.RuneCountInString(p.lex.src[:min(se.pos, len(p.lex.src))]) + 1
	return mk("%s at position %d: %s", what, pos, se.msg)
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	return &syntaxError{pos: p.tok.pos, msg: fmt.Sprintf(format, args...)}
}

// expected reports that the current token is not what the grammar allows here.
func (p *parser) expected(what string) error {
	return p.errorf("expected %s, found %s", what, p.found())
}

func (p *parser) found() string {
	if p.tok.kind == tokEOF {
		return "end of input"
	}
	return quoteSnippet(p.tok.text)
}

func quoteSnippet(s string) string {
	const maxLen = 40
	if len(s) > maxLen {
		cut := maxLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

func (p *parser) isKeyword(kw string) bool {
	return p.tok.kind == tokWord && strings.EqualFold(p.tok.text, kw)
}

func (p *parser) addNode() error {
	p.nodes++
	if p.nodes > p.lim.MaxNodes {
		return p.errorf("filter exceeds the limit of %d nodes (MaxNodes)", p.lim.MaxNodes)
	}
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > p.lim.MaxDepth {
		return p.errorf("filter nesting exceeds the limit of %d levels (MaxDepth)", p.lim.MaxDepth)
	}
	return nil
}

func (p *parser) expect(k tokKind, what string) error {
	if p.tok.kind != k {
		return p.expected(what)
	}
	return p.advance()
}

func (p *parser) parseFilterText() (Filter, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	f, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.expected(`"and", "or" or end of filter`)
	}
	return f, nil
}

// parseOr and parseAnd give "and" precedence over "or" (RFC 7644 §3.4.2.2: "the "and"
// logical operator has higher precedence than "or""), and build left-nested trees so
// that chains of three or more terms group as ((a or b) or c).
func (p *parser) parseOr() (Filter, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		if err := p.addNode(); err != nil {
			return nil, err
		}
		left = &OrFilter{Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseAnd() (Filter, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if err := p.addNode(); err != nil {
			return nil, err
		}
		left = &AndFilter{Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseUnary() (Filter, error) {
	switch {
	case p.tok.kind == tokLParen:
		return p.parseGroup()
	case p.isKeyword("not"):
		// RFC 7644 §3.4.2.2 grammar: *1"not" "(" valFilter ")": "not" always takes a
		// parenthesised filter.
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokLParen {
			return nil, p.expected(`"(" after "not"`)
		}
		x, err := p.parseGroup()
		if err != nil {
			return nil, err
		}
		if err := p.addNode(); err != nil {
			return nil, err
		}
		return &NotFilter{X: x}, nil
	case p.tok.kind == tokWord && !p.isKeyword("and") && !p.isKeyword("or"):
		return p.parseAttrExp()
	}
	return nil, p.expected(`attribute path, "(" or "not"`)
}

// parseGroup parses "(" filter ")" with the current token on "(".
func (p *parser) parseGroup() (Filter, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	f, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(tokRParen, `"and", "or" or ")"`); err != nil {
		return nil, err
	}
	p.depth--
	return f, nil
}

var compareOps = map[string]CompareOp{
	"eq": OpEq, "ne": OpNe, "co": OpCo, "sw": OpSw, "ew": OpEw,
	"gt": OpGt, "ge": OpGe, "lt": OpLt, "le": OpLe,
}

func (p *parser) parseAttrExp() (Filter, error) {
	path, err := p.parseAttrPath()
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tokLBracket {
		vf, err := p.parseValueFilter()
		if err != nil {
			return nil, err
		}
		if p.tok.kind == tokWord && strings.HasPrefix(p.tok.text, ".") {
			// `emails[type eq "work"].value eq "x@y"` is outside the RFC 7644 §3.4.2.2 ABNF
			// (valuePath followed by a sub-attribute is the PATCH path grammar of §3.5.2),
			// but some clients send it in filters. Its one reading is "a value of emails
			// whose type is work and whose value is x@y", so it is taken as
			// `emails[type eq "work" and value eq "x@y"]`.
			sub := p.tok.text[1:]
			if !validAttrName(sub) {
				return nil, p.expected("sub-attribute name after \"]\"")
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
			cmp, err := p.parseComparison(AttrPath{Name: sub})
			if err != nil {
				return nil, err
			}
			if err := p.addNode(); err != nil {
				return nil, err
			}
			vf = &AndFilter{Left: vf, Right: cmp}
		}
		if err := p.addNode(); err != nil {
			return nil, err
		}
		return &ValuePathFilter{Path: path, Filter: vf}, nil
	}
	return p.parseComparison(path)
}

// parseComparison parses what follows an attribute path: "pr", or an operator and a value.
func (p *parser) parseComparison(path AttrPath) (Filter, error) {
	if p.tok.kind != tokWord {
		return nil, p.expected("comparison operator")
	}
	opText := strings.ToLower(p.tok.text)
	if opText == "pr" {
		if err := p.addNode(); err != nil {
			return nil, err
		}
		return &PresentFilter{Path: path}, p.advance()
	}
	op, ok := compareOps[opText]
	if !ok {
		return nil, p.expected("comparison operator")
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	v, err := p.parseCompValue()
	if err != nil {
		return nil, err
	}
	if err := p.addNode(); err != nil {
		return nil, err
	}
	return &CompareFilter{Path: path, Op: op, Value: v}, nil
}

// parseValueFilter parses "[" valFilter "]" with the current token on "[".
func (p *parser) parseValueFilter() (Filter, error) {
	if p.inValue {
		return nil, p.errorf("value filters cannot be nested")
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	p.inValue = true
	f, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.inValue = false
	if err := p.expect(tokRBracket, `"and", "or" or "]"`); err != nil {
		return nil, err
	}
	p.depth--
	return f, nil
}

// parseCompValue parses compValue = false / null / true / number / string (RFC 7644
// §3.4.2.2). ABNF literals are case-insensitive, so "True" and "NULL" are accepted.
func (p *parser) parseCompValue() (any, error) {
	t := p.tok
	switch t.kind {
	case tokString:
		return t.str, p.advance()
	case tokWord:
	default:
		return nil, p.expected("comparison value")
	}
	var v any
	switch lower := strings.ToLower(t.text); {
	case lower == "true":
		v = true
	case lower == "false":
		v = false
	case lower == "null":
		v = nil
	case isJSONNumber(t.text):
		v = json.Number(t.text)
	case lower == "and" || lower == "or":
		// A bare "and" here is far more likely a missing value than a value.
		return nil, p.expected("comparison value")
	default:
		// Not RFC syntax, but Microsoft's SCIM validator and some clients send unquoted
		// strings (`name.familyName eq Employee`); there is no other reading of them.
		v = t.text
	}
	return v, p.advance()
}

func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	return json.Valid([]byte(s))
}

// parseAttrPath parses attrPath = [URI ":"] ATTRNAME *1subAttr (RFC 7644 §3.4.2.2) from
// the current word. The URN ends at the last ':' (RFC 7644 §3.10), so that
// "urn:…:2.0:User:name.familyName" keeps the dots of "2.0" in the URN.
func (p *parser) parseAttrPath() (AttrPath, error) {
	if p.tok.kind != tokWord {
		return AttrPath{}, p.expected("attribute path")
	}
	path, ok := splitAttrPath(p.tok.text)
	if !ok {
		return AttrPath{}, p.expected("attribute path")
	}
	return path, p.advance()
}

func splitAttrPath(s string) (AttrPath, bool) {
	urn, rest := SplitURN(s)
	if urn != "" && !validURN(urn) {
		return AttrPath{}, false
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	if !validAttrName(name) || (hasSub && !validAttrName(sub)) {
		return AttrPath{}, false
	}
	return AttrPath{URN: urn, Name: name, Sub: sub}, true
}

// validAttrName checks ATTRNAME = ALPHA *(nameChar) (RFC 7643 §2.1), also allowing the
// leading '$' of "$ref", which RFC 7643 itself uses as an attribute name.
func validAttrName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i == 0 && c == '$':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// validURN is deliberately loose: the resolver decides whether a schema by that URN exists.
func validURN(s string) bool {
	if len(s) <= len("urn:") || strings.Contains(s, "::") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func (p *parser) parsePatchPathText() (PatchPath, error) {
	if err := p.advance(); err != nil {
		return PatchPath{}, err
	}
	attr, err := p.parseAttrPath()
	if err != nil {
		return PatchPath{}, err
	}
	pp := PatchPath{Attr: attr}
	if p.tok.kind == tokLBracket {
		if pp.Filter, err = p.parseValueFilter(); err != nil {
			return PatchPath{}, err
		}
		if p.tok.kind == tokWord && strings.HasPrefix(p.tok.text, ".") {
			sub := p.tok.text[1:]
			if !validAttrName(sub) {
				return PatchPath{}, p.expected("sub-attribute name")
			}
			pp.Sub = sub
			if err := p.advance(); err != nil {
				return PatchPath{}, err
			}
		}
	}
	if p.tok.kind != tokEOF {
		if pp.Filter != nil {
			return PatchPath{}, p.expected(`".subAttribute" or end of path`)
		}
		return PatchPath{}, p.expected(`"[" or end of path`)
	}
	return pp, nil
}
