package config

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a configuration file. Line is 0 when the value
// did not come from the file (an environment override, a missing file) or
// the position is unknown. Key is the path of the offending value, like
// `customers[1].domains[0]` or `sync.poll_interval`; empty for problems with
// the file as a whole. Msg never contains a secret value.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string

	err error // underlying cause, for errors.Is (e.g. fs.ErrNotExist)
}

// Error formats the problem as `file:line: key: msg`, leaving out the parts
// that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.err }

// Errors is every problem Load found, ordered by line (problems without a
// line last). Load returns it as its error whenever the configuration is
// unusable, so callers can tell config errors (exit 2) from others with
// errors.As.
type Errors []*Error

// Error lists the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// problems collects Errors while a file is checked, attaching line numbers
// from the YAML node tree to key paths.
type problems struct {
	file  string
	lines map[string]int // key path → line of the key (or list item)
	// bad holds paths whose value had the wrong type: later checks on them
	// or below them would only repeat the same problem in other words.
	bad   map[string]bool
	errs  Errors
	warns []Warning
}

// Warning is a doubtful value that does not stop the configuration from
// loading: the daemon runs with it, and `touchbase check` shows it. Key is
// the path of the value, like Error.Key.
type Warning struct {
	Key string
	Msg string

	line int // for ordering only, as Errors are ordered
}

// String formats the warning as `key: msg`.
func (w Warning) String() string { return w.Key + ": " + w.Msg }

func newProblems(file string) *problems {
	return &problems{file: file, lines: map[string]int{}, bad: map[string]bool{}}
}

// add records a problem with the value at key as loaded: when the
// environment overrode the key, the problem is the environment's.
func (p *problems) add(key, format string, args ...any) {
	for k := key; k != ""; k = parentKey(k) {
		if p.bad[k] {
			return
		}
	}
	msg := fmt.Sprintf(format, args...)
	line := p.line(key)
	if env := envName(key); env != "" {
		if _, ok := os.LookupEnv(env); ok {
			line = 0
			msg += " (from $" + env + ")"
		}
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Key: key, Msg: msg})
}

// warn records a warning about the value at key. Warnings on paths that
// already had a problem are dropped, as add drops problems there.
func (p *problems) warn(key, format string, args ...any) {
	for k := key; k != ""; k = parentKey(k) {
		if p.bad[k] {
			return
		}
	}
	p.warns = append(p.warns, Warning{Key: key, Msg: fmt.Sprintf(format, args...), line: p.line(key)})
}

// addFile records a problem with the file as written, at line.
func (p *problems) addFile(line int, key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Key: key, Msg: msg})
}

// badUnder reports whether a path below key had the wrong type.
func (p *problems) badUnder(key string) bool {
	for k := range p.bad {
		if strings.HasPrefix(k, key+".") || strings.HasPrefix(k, key+"[") {
			return true
		}
	}
	return false
}

// line is the line of key, or of its closest ancestor present in the file
// (a missing required field points at the block that lacks it).
func (p *problems) line(key string) int {
	for k := key; k != ""; k = parentKey(k) {
		if l, ok := p.lines[k]; ok {
			return l
		}
	}
	return 0
}

// sorted returns the problems ordered by line, keeping the order in which
// they were found for equal lines; problems without a line come last.
func (p *problems) sorted() Errors {
	out := slices.Clone(p.errs)
	slices.SortStableFunc(out, func(a, b *Error) int { return cmpLine(a.Line, b.Line) })
	return out
}

// warnings returns the warnings ordered by line, as sorted orders problems.
func (p *problems) warnings() []Warning {
	out := slices.Clone(p.warns)
	slices.SortStableFunc(out, func(a, b Warning) int { return cmpLine(a.line, b.line) })
	return out
}

// cmpLine orders line numbers, unknown (0) last.
func cmpLine(a, b int) int {
	if a == 0 {
		a = int(^uint(0) >> 1)
	}
	if b == 0 {
		b = int(^uint(0) >> 1)
	}
	return cmp.Compare(a, b)
}

// parentKey strips the last element of a key path:
// "a.b[2].c" → "a.b[2]" → "a.b" → "a" → "".
func parentKey(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

// envName is the environment variable that overrides a scalar key, or ""
// for keys inside lists and maps, which the environment cannot reach.
func envName(key string) string {
	if key == "" || strings.Contains(key, "[") ||
		strings.HasPrefix(key, "policies.") || strings.HasPrefix(key, "tiers.") {
		return ""
	}
	return envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// closest returns the candidate most similar to s, or "" when none is close
// enough to be a plausible typo.
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+2
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	return best
}

// didYouMean is a suffix for an unknown-name message.
func didYouMean(s string, candidates []string) string {
	if c := closest(s, candidates); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
