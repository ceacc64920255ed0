package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// Every table the CLI prints goes through table and clock: one time format
// (the display zone, named once in the header, relative ages where they
// help), columns that fit tableWidth unless -o wide, and --no-headers.
// --json prints the views themselves, times in RFC 3339 with their offset.

// tableWidth is what a table fits by default: a terminal of 100 columns.
const tableWidth = 100

// Output formats of -o.
const (
	outTable = "table"
	outWide  = "wide"
	outJSON  = "json"
)

// outputFlags are -o, its older spelling --json, and --no-headers.
type outputFlags struct {
	format    string
	asJSON    bool
	noHeaders bool
}

// register adds -o and --json (when jsonHelp is not empty) and, for
// commands that print one table, --no-headers.
func (o *outputFlags) register(cmd *cobra.Command, jsonHelp string, headers bool) {
	if jsonHelp == "" {
		return
	}
	cmd.Flags().StringVarP(&o.format, "output", "o", outTable, "output format: table, wide (every column, nothing cut) or json")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, jsonHelp+" (the same as -o json)")
	if headers {
		cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "print the table without its header line")
	}
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outTable, outWide, outJSON}, cobra.ShellCompDirectiveNoFileComp))
}

// check validates -o; a bad value is a usage error naming the flag.
func (o *outputFlags) check() error {
	switch o.format {
	case outTable, outWide, outJSON, "":
		return nil
	}
	return usageError("-o %q: want table, wide or json", o.format)
}

func (o *outputFlags) json() bool { return o.asJSON || o.format == outJSON }
func (o *outputFlags) wide() bool { return o.format == outWide }

// times formats the times of one table: in loc, relative to now (the
// evaluation time, so a forecast's ages are as of then).
type times struct {
	loc *time.Location
	now time.Time
}

const stampLayout = "2006-01-02 15:04"

// at is t in the table's zone, "-" when unset.
func (c times) at(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(c.loc).Format(stampLayout)
}

// ago is t relative to now: "3 d ago", "in 2 d", "now"; "-" when unset.
func (c times) ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := c.now.Sub(t)
	if d.Abs() < time.Minute {
		return "now"
	}
	if d < 0 {
		return "in " + span(-d)
	}
	return span(d) + " ago"
}

// atAgo is t with its relative age: "2026-11-17 09:00 (3 d ago)".
func (c times) atAgo(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return c.at(t) + " (" + c.ago(t) + ")"
}

// span renders a length coarsely, rounded down: "40 min", "5 h", "9 d".
// Hours up to two days: "36 h" says more than "1 d".
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "< 1 min"
	case d < time.Hour:
		return fmt.Sprintf("%d min", d/time.Minute)
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", d/time.Hour)
	}
	return fmt.Sprintf("%d d", d/(24*time.Hour))
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// zoneName names loc for a header. The machine's zone is named by its
// IANA name where TZ or /etc/localtime tells it, else its abbreviation.
func zoneName(loc *time.Location) string {
	if loc != time.Local {
		return loc.String()
	}
	if tz, ok := os.LookupEnv("TZ"); ok {
		if tz = strings.TrimPrefix(tz, ":"); tz == "" {
			return "UTC"
		}
		return tz
	}
	if p, err := filepath.EvalSymlinks("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(p, "zoneinfo/"); ok {
			return name
		}
	}
	name, _ := time.Now().In(loc).Zone()
	return name
}

// col is one column of a table.
type col struct {
	name string
	// flex columns are cut with "…" (down to minFlex) to fit tableWidth.
	flex bool
	// wide columns are shown only with -o wide.
	wide bool
	// zone marks a column of absolute times: the first one shown names
	// the zone in its header, "DUE (Europe/Berlin)".
	zone bool
}

// minFlex is the narrowest a flex column is cut to.
const minFlex = 8

// table collects rows and prints them aligned.
type table struct {
	cols []col
	rows [][]string
}

func newTable(cols ...col) *table { return &table{cols: cols} }

// add appends a row, one cell per column, shown or not. Line breaks and
// tabs in a cell become spaces: a row stays on one line.
func (t *table) add(cells ...string) {
	if len(cells) != len(t.cols) {
		panic(fmt.Sprintf("table row has %d cells for %d columns", len(cells), len(t.cols)))
	}
	for i, c := range cells {
		if strings.ContainsAny(c, "\n\t\r") {
			cells[i] = strings.Join(strings.Fields(c), " ")
		}
		if cells[i] == "" {
			cells[i] = "-"
		}
	}
	t.rows = append(t.rows, cells)
}

// tableOpts says how to print a table.
type tableOpts struct {
	wide      bool
	noHeaders bool
	zone      *time.Location // named in the first zone column's header
}

// write prints the table: the columns -o allows, the zone named once,
// cells cut to fit tableWidth unless wide, two spaces between columns.
func (t *table) write(w io.Writer, o tableOpts) error {
	var shown []int
	for i, c := range t.cols {
		if o.wide || !c.wide {
			shown = append(shown, i)
		}
	}
	header := make([]string, len(t.cols))
	named := false
	for _, i := range shown {
		header[i] = t.cols[i].name
		if t.cols[i].zone && !named && o.zone != nil {
			header[i] += " (" + zoneName(o.zone) + ")"
			named = true
		}
	}
	width := make([]int, len(t.cols))
	for _, i := range shown {
		if !o.noHeaders {
			width[i] = utf8.RuneCountInString(header[i])
		}
		for _, r := range t.rows {
			width[i] = max(width[i], utf8.RuneCountInString(r[i]))
		}
	}
	if !o.wide {
		t.fit(shown, width)
	}
	var b strings.Builder
	line := func(cells []string) {
		b.Reset()
		for k, i := range shown {
			cell := cut(cells[i], width[i])
			b.WriteString(cell)
			if k < len(shown)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	if !o.noHeaders {
		line(header)
	}
	for _, r := range t.rows {
		line(r)
	}
	return nil
}

// fit narrows the widest flex column, one rune at a time, until the shown
// columns fit tableWidth or every flex column is at minFlex (or as narrow
// as its name).
func (t *table) fit(shown []int, width []int) {
	total := 2 * (len(shown) - 1)
	for _, i := range shown {
		total += width[i]
	}
	floor := make([]int, len(t.cols))
	for _, i := range shown {
		floor[i] = max(minFlex, utf8.RuneCountInString(t.cols[i].name))
	}
	for total > tableWidth {
		widest := -1
		for _, i := range shown {
			if t.cols[i].flex && width[i] > floor[i] && (widest < 0 || width[i] > width[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			return
		}
		width[widest]--
		total--
	}
}

// cut shortens s to n runes, the last one an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
