package dashboard

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/evaluate"
)

// The overview's rows are written here rather than by the template: with
// thousands of customers, html/template's reflection over ~20 actions per
// row and 26 strip items each costs most of a second, plain writes a few
// milliseconds (BenchmarkOverview). The markup is the template's would be:
// every text and attribute value goes through template.HTMLEscapeString,
// the link's ID through url.PathEscape as well.

var esc = template.HTMLEscapeString

// rowsHTML renders the <tr> elements of the customers table.
func rowsHTML(rows []overviewRow) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 4096)
	var strips stripWriter
	for i := range rows {
		writeRow(&b, &rows[i], &strips)
	}
	return template.HTML(b.String())
}

func writeRow(b *strings.Builder, r *overviewRow, strips *stripWriter) {
	name := esc(r.Name)
	put(b, `<tr class="customer" data-id="`, esc(r.ID), `" data-state="`, esc(r.State), `" data-owner="`, esc(r.Owner),
		`" data-tier="`, esc(r.Tier), `" data-name="`, name, "\">\n")
	put(b, `<td data-sort="`, name, `"><a href="/dashboard/customers/`, esc(url.PathEscape(r.ID)), `">`, name, "</a></td>\n")
	put(b, `<td data-sort="`, strconv.Itoa(r.StateRank), `"><span class="badge state-`, esc(r.State), `">`, esc(r.State), "</span></td>\n")
	put(b, "<td>", esc(r.Owner), "</td>\n<td>", esc(r.Tier), "</td>\n")
	put(b, `<td data-sort="`, strconv.FormatInt(r.SortIn, 10), `">`)
	writeTime(b, r.LastIn)
	put(b, "</td>\n", `<td data-sort="`, strconv.FormatInt(r.SortOut, 10), `">`)
	writeTime(b, r.LastOut)
	put(b, "</td>\n", `<td data-sort="`, strconv.FormatInt(r.SortDue, 10), `">`)
	switch {
	case r.Overdue != "":
		put(b, `<span class="overdue">`, esc(r.Overdue), `</span> <span class="since">since `)
		writeTime(b, r.Due)
		b.WriteString("</span>")
	case r.Due != nil:
		b.WriteString("due ")
		writeTime(b, r.Due)
	default:
		b.WriteString(`<span class="none">nothing due</span>`)
	}
	b.WriteString("</td>\n")
	for _, n := range []int{r.Contacts30, r.Contacts90} {
		s := strconv.Itoa(n)
		put(b, `<td data-sort="`, s, `">`, s, "</td>\n")
	}
	b.WriteString(`<td class="strip">`)
	strips.write(b, r.Weeks)
	b.WriteString("</td>\n</tr>\n")
}

// put writes parts in order, without concatenating them first.
func put(b *strings.Builder, parts ...string) {
	for _, p := range parts {
		b.WriteString(p)
	}
}

// writeTime writes what the template "time" writes.
func writeTime(b *strings.Builder, v *timeView) {
	if v == nil {
		b.WriteString(`<span class="none">never</span>`)
		return
	}
	put(b, `<time datetime="`, esc(v.ISO), `"`)
	if v.Rel {
		put(b, ` class="rel" title="`, esc(v.Title), `"`)
	}
	put(b, ">", esc(v.Text), "</time>")
}

// level buckets a week's count for shading: none, one, a few, several, many.
func level(n int) int {
	switch {
	case n == 0:
		return 0
	case n == 1:
		return 1
	case n <= 3:
		return 2
	case n <= 6:
		return 3
	}
	return 4
}

// stripWriter writes cadence strips, formatting each week's date once:
// every customer's strip has the same weeks.
type stripWriter struct {
	days map[int64]string // week start (Unix) → YYYY-MM-DD
}

// write writes the strip's list: numbers, dates and fixed words only.
func (s *stripWriter) write(b *strings.Builder, weeks []evaluate.WeekView) {
	if s.days == nil {
		s.days = map[int64]string{}
	}
	day := func(w evaluate.WeekView) string {
		d, ok := s.days[w.Start.Unix()]
		if !ok {
			d = w.Start.Format("2006-01-02")
			s.days[w.Start.Unix()] = d
		}
		return d
	}
	b.WriteString(`<ol class="strip" aria-label="26 weeks of contact"`)
	if len(weeks) > 0 {
		put(b, ` data-first-week="`, day(weeks[0]), `"`)
	}
	b.WriteString(">")
	// Each week says its start and count in its title only: ten thousand
	// customers make 260,000 of these, and every attribute is megabytes.
	for _, w := range weeks {
		n := strconv.Itoa(w.Count)
		put(b, `<li class="wk lvl-`, strconv.Itoa(level(w.Count)))
		mark := ""
		switch w.Mark {
		case cadence.Slipped:
			b.WriteString(" mark-slipped")
			mark = ", slipped"
		case cadence.AtRisk:
			b.WriteString(" mark-at_risk")
			mark = ", at risk"
		}
		put(b, `" title="`, day(w), ": ", n, mark, `"></li>`)
	}
	b.WriteString(`</ol>`)
}
