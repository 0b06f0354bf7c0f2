package scim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MatchFilter reports whether a resource matches a filter that ResolveFilter has accepted.
// It evaluates PATCH value filters and is the reference the store's SQL translation is
// tested against, so it follows RFC 7644 §3.4.2.2 literally and decides the cases the RFC
// leaves open in the simplest way that SQL can reproduce:
//
//   - res is a decoded JSON object (numbers as json.Number, float64 or int) with canonical
//     attribute names: core and common attributes at the top level, extension attributes in
//     an object under their schema URN. Keys are looked up exactly first, then
//     case-insensitively.
//   - Strings compare case-insensitively unless the leaf attribute is caseExact or binary
//     (see FilterCaseExact), by comparing their strings.ToLower forms, also for
//     gt/ge/lt/le, which compare the bytes of the UTF-8 encodings (Unicode code point
//     order).
//   - The empty string is no value: RFC 7644 §3.4.2.2 makes "pr" true only for a
//     "non-empty value", and every other operator agrees with pr, so an attribute whose
//     value is "" matches exactly what an absent one does (`title eq ""` never matches,
//     `title eq null` does).
//   - A multi-valued attribute (or a sub-attribute of one, `emails.value`) matches when any
//     of its values does ("If the specified attribute in a filter expression is a
//     multi-valued attribute, the filter matches if any of the values of the specified
//     attribute match the specified criterion").
//   - `ne` is the negation of `eq`: it matches when the attribute is absent or null, and,
//     for a multi-valued attribute, when no value equals the operand. So `a ne v` and
//     `not (a eq v)` always agree, and `not` is plain negation, true for absent attributes.
//   - `pr` matches a value that is not null, not "", not an empty array and not an object
//     without present values. `eq null` matches exactly when `pr` does not; `ne null` when
//     it does (RFC 7643 §2.5 makes null and unassigned the same state).
//   - A value path (`emails[type eq "work"]`, also on a single-valued complex attribute,
//     `name[givenName pr]`) needs a present value that satisfies its filter, so
//     `name[not (givenName pr)]` is false for a user without a name.
//   - dateTime attributes compare chronologically (values that do not parse as RFC 3339
//     never match; see ParseDateTime), numbers numerically, booleans only with eq/ne.
//   - A value of the wrong JSON type in the resource never equals the operand.
func MatchFilter(f Filter, res map[string]any) bool {
	return match(f, res, false)
}

// MatchValue evaluates the filter of a value path (`type eq "work"` in
// `emails[type eq "work"]`) against one value of the multi-valued complex attribute: the
// filter's paths name keys of value. Semantics are those of MatchFilter.
func MatchValue(f Filter, value map[string]any) bool {
	return match(f, value, true)
}

// match evaluates f against obj; rel says that paths are relative to a value of a complex
// attribute rather than to the resource.
func match(f Filter, obj map[string]any, rel bool) bool {
	switch f := f.(type) {
	case *AndFilter:
		return f != nil && match(f.Left, obj, rel) && match(f.Right, obj, rel)
	case *OrFilter:
		return f != nil && (match(f.Left, obj, rel) || match(f.Right, obj, rel))
	case *NotFilter:
		return f != nil && !match(f.X, obj, rel)
	case *PresentFilter:
		return f != nil && anyPresent(lookup(obj, f.Path, rel))
	case *CompareFilter:
		return f != nil && compareValues(lookup(obj, f.Path, rel), f.Path.Leaf(), f.Op, f.Value)
	case *ValuePathFilter:
		if f == nil {
			return false
		}
		for _, v := range lookup(obj, f.Path, rel) {
			if m, ok := asMap(v); ok && present(m) && match(f.Filter, m, true) {
				return true
			}
		}
	}
	return false
}

// lookup returns the values a path designates, with multi-valued attributes flattened and
// empty strings left out (they are no value).
func lookup(obj map[string]any, p AttrPath, rel bool) []any {
	container := obj
	if !rel && p.URN != "" {
		m, ok := asMap(getKey(obj, p.URN))
		if !ok {
			return nil
		}
		container = m
	}
	vals := flatten(getKey(container, p.Name))
	if p.Sub != "" {
		var subs []any
		for _, v := range vals {
			if m, ok := asMap(v); ok {
				subs = append(subs, flatten(getKey(m, p.Sub))...)
			}
		}
		vals = subs
	}
	out := vals[:0:0]
	for _, v := range vals {
		if v != nil && v != "" {
			out = append(out, v)
		}
	}
	return out
}

// getKey finds a key exactly, else case-insensitively (RFC 7643 §2.1: attribute names are
// case insensitive). Among several case variants the smallest key wins, so that the result
// does not depend on map iteration order.
func getKey(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	var found string
	var v any
	ok := false
	for k, x := range m {
		if strings.EqualFold(k, key) && (!ok || k < found) {
			found, v, ok = k, x, true
		}
	}
	return v
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case Resource:
		return m, true
	}
	return nil, false
}

func flatten(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	case []map[string]any:
		out := make([]any, len(v))
		for i, m := range v {
			out[i] = m
		}
		return out
	}
	return []any{v}
}

func anyPresent(vals []any) bool {
	for _, v := range vals {
		if present(v) {
			return true
		}
	}
	return false
}

func present(v any) bool {
	if m, ok := asMap(v); ok {
		for _, x := range m {
			if present(x) {
				return true
			}
		}
		return false
	}
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any, []string, []map[string]any:
		return anyPresent(flatten(v))
	}
	return true
}

func compareValues(vals []any, leaf *Attribute, op CompareOp, want any) bool {
	if want == nil {
		switch op {
		case OpEq:
			return !anyPresent(vals)
		case OpNe:
			return anyPresent(vals)
		}
		return false
	}
	if op == OpNe {
		return !compareValues(vals, leaf, OpEq, want)
	}
	for _, v := range vals {
		if compareOne(v, leaf, op, want) {
			return true
		}
	}
	return false
}

func compareOne(v any, leaf *Attribute, op CompareOp, want any) bool {
	switch w := want.(type) {
	case bool:
		b, ok := v.(bool)
		return ok && op == OpEq && b == w
	case string:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if leaf != nil && leaf.Type == TypeDateTime && !isSubstring(op) {
			return compareTimes(s, w, op)
		}
		if !FilterCaseExact(leaf) {
			s, w = fold(s), fold(w)
		}
		switch op {
		case OpCo:
			return strings.Contains(s, w)
		case OpSw:
			return strings.HasPrefix(s, w)
		case OpEw:
			return strings.HasSuffix(s, w)
		}
		return ordered(strings.Compare(s, w), op)
	}
	wn, ok := toNumber(want)
	if !ok {
		return false
	}
	vn, ok := toNumber(v)
	if !ok {
		return false
	}
	return ordered(compareNumbers(vn, wn), op)
}

// FilterCaseExact reports whether filters compare an attribute's values case-sensitively:
// when its schema says caseExact, and for binary attributes, whatever the schema says (RFC
// 7643 §2.3.6: "A binary is case exact"; base64 text differing in case is different
// data). A nil attribute is compared case-insensitively.
func FilterCaseExact(a *Attribute) bool {
	return a != nil && (a.CaseExact || a.Type == TypeBinary)
}

// fold is the case folding of case-insensitive comparisons. A store that filters in SQL
// must fold the same way (Unicode lower-casing, not only ASCII) to agree with MatchFilter.
func fold(s string) string { return strings.ToLower(s) }

// ordered applies eq, gt, ge, lt or le to the result of a three-way comparison.
func ordered(c int, op CompareOp) bool {
	switch op {
	case OpEq:
		return c == 0
	case OpGt:
		return c > 0
	case OpGe:
		return c >= 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	}
	return false
}

func compareTimes(v, w string, op CompareOp) bool {
	tv, err := ParseDateTime(v)
	if err != nil {
		return false
	}
	tw, err := ParseDateTime(w)
	if err != nil {
		return false
	}
	return ordered(tv.Compare(tw), op)
}

// ParseDateTime reads a dateTime operand of a filter: an RFC 3339 date-time (RFC 7643
// §2.3.5) with any offset and any number of fraction digits (beyond nanoseconds they are
// cut). Beyond what time.RFC3339Nano takes it accepts the lower-case "t" and "z" that RFC
// 3339 §5.6 allows ("may alternatively be lower case") and a leap second (":60", §5.7),
// read as the last nanosecond of its minute, since a Go time.Time cannot hold it.
func ParseDateTime(s string) (time.Time, error) {
	orig := s
	if len(s) > 10 && s[10] == 't' {
		s = s[:10] + "T" + s[11:]
	}
	if strings.HasSuffix(s, "z") {
		s = s[:len(s)-1] + "Z"
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil && len(s) >= 19 && s[17:19] == "60" {
		// Only the seconds field is changed; a bad date or time still fails below.
		if t2, err2 := time.Parse(time.RFC3339Nano, s[:17]+"59"+s[19:]); err2 == nil {
			return t2.Truncate(time.Second).Add(time.Second - time.Nanosecond), nil
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date-time", orig)
	}
	return t, nil
}

// number holds a JSON number as an int64 when it is integral and fits, so that large
// integers compare exactly, and as a float64 always.
type number struct {
	i     int64
	f     float64
	isInt bool
}

func toNumber(v any) (number, bool) {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return number{i: i, f: float64(i), isInt: true}, true
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return number{}, false
		}
		return fromFloat(f)
	case float64:
		return fromFloat(v)
	case float32:
		return fromFloat(float64(v))
	case int:
		return number{i: int64(v), f: float64(v), isInt: true}, true
	case int64:
		return number{i: v, f: float64(v), isInt: true}, true
	case int32:
		return number{i: int64(v), f: float64(v), isInt: true}, true
	}
	return number{}, false
}

func fromFloat(f float64) (number, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return number{}, false
	}
	// JSON has no separate integer type: 1.0 and 1e2 are integers too.
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return number{i: int64(f), f: f, isInt: true}, true
	}
	return number{f: f}, true
}

func compareNumbers(a, b number) int {
	if a.isInt && b.isInt {
		return cmp.Compare(a.i, b.i)
	}
	return cmp.Compare(a.f, b.f)
}
