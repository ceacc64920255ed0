package cadence

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Suggestion is a commitment inferred from history that the configuration
// does not declare yet, with the evidence for it.
type Suggestion struct {
	CustomerID string        `json:"customer_id"`
	Name       string        `json:"name"`
	Commitment Commitment    `json:"-"`
	Interval   time.Duration `json:"-"`       // median gap between occurrences
	Pattern    string        `json:"pattern"` // normalised subject, or "meetings"
	Evidence   []Ref         `json:"evidence"`
	Reason     string        `json:"reason"`
}

// Precision first: a suggestion must be right. These thresholds make
// `suggest` say nothing rather than guess.
const (
	minOccurrences = 4
	tolerance      = 0.3 // an interval within ±30% of the median is steady
	outlierEvery   = 6   // one irregular interval allowed per 6
	activeWithin   = 2.0 // the last occurrence is at most 2 intervals old
)

// Suggest finds implicit commitments: outbound mails with a similar
// normalised subject ("Status week 12", "Monthly report March") sent to a
// customer at a steady weekly, two-weekly, monthly or quarterly interval at
// least four times, and meetings held every one to four weeks. Patterns
// that a customer's commitments already cover, or that ended, are left
// out. Results are ordered by customer ID, then name.
func Suggest(customers []Customer, h *History, now time.Time) []Suggestion {
	var out []Suggestion
	norm := map[uint32]string{} // normalised subjects, by interned subject
	for i := range customers {
		c := &customers[i]
		e := newCustEval(c, h, now, now)
		var found []Suggestion
		for _, g := range e.mailGroups(norm) {
			if s, ok := e.inferMail(g.pattern, g.items); ok {
				found = append(found, s)
			}
		}
		if s, ok := e.inferMeetings(); ok {
			found = append(found, s)
		}
		slices.SortFunc(found, func(a, b Suggestion) int { return cmp.Compare(a.Name, b.Name) })
		out = append(out, uniqueNames(c, found)...)
	}
	return out
}

type mailGroup struct {
	pattern string
	items   []*entry
}

// mailGroups groups original (not reply or forward) outbound mails up to
// now by normalised subject; norm caches NormalizeSubject.
func (e *custEval) mailGroups(norm map[uint32]string) []mailGroup {
	idx := map[string]int{}
	var out []mailGroup
	for i := 0; i < e.past; i++ {
		ct := &e.es[i]
		if !ct.email() || !ct.outbound() || ct.nrefs > 0 {
			continue
		}
		p, ok := norm[ct.subject]
		if !ok {
			p = ""
			if subj := e.subject(ct); !replyPrefix.MatchString(subj) {
				p = NormalizeSubject(subj)
			}
			norm[ct.subject] = p
		}
		if letters(p) < 3 {
			continue
		}
		j, ok := idx[p]
		if !ok {
			j = len(out)
			idx[p] = j
			out = append(out, mailGroup{pattern: p})
		}
		out[j].items = append(out[j].items, ct)
	}
	return out
}

var (
	replyPrefix = regexp.MustCompile(`(?i)^\s*(re|aw|fwd?|wg|sv|antw|tr|vs)\s*(\[\d+\])?\s*:`)
	datePattern = regexp.MustCompile(`\d{1,4}[-./]\d{1,4}(?:[-./]\d{1,4})?`)
	monthNames  = regexp.MustCompile(`\b(?:jan(?:uary|uar)?|feb(?:ruary|ruar)?|m(?:ar(?:ch)?|ärz|aerz)|apr(?:il)?|ma[iy]|jun[ei]?|jul[iy]?|aug(?:ust)?|sep(?:t(?:ember)?)?|o[ck]t(?:ober)?|nov(?:ember)?|de[cz](?:ember)?)\b`)
	digits      = regexp.MustCompile(`\d+`)
	hashes      = regexp.MustCompile(`#+`)
	spaces      = regexp.MustCompile(`\s+`)
)

// NormalizeSubject reduces a subject to what stays the same from one
// occurrence of a recurring mail to the next: without reply and forward
// prefixes, lower-case, with dates, month names and numbers replaced by
// "#" ("Re: Status week 12" → "status week #").
func NormalizeSubject(s string) string {
	for replyPrefix.MatchString(s) {
		s = s[len(replyPrefix.FindString(s)):]
	}
	s = strings.ToLower(s)
	s = datePattern.ReplaceAllString(s, "#")
	s = monthNames.ReplaceAllString(s, "#")
	s = digits.ReplaceAllString(s, "#")
	s = hashes.ReplaceAllString(s, "#")
	s = spaces.ReplaceAllString(s, " ")
	return strings.Trim(s, " -–:,.;|/")
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r > 127 {
			n++
		}
	}
	return n
}

// cadenceFit is the policy a steady series of occurrences fits.
type cadenceFit struct {
	every    Span
	per      Period
	grace    Span
	interval time.Duration
}

// fit checks that times (ascending) recur steadily and still do, and
// returns the policy that encodes them: one per consecutive calendar month
// or quarter, or a steady weekly, two-weekly or monthly interval (one to
// four weeks for meetings).
func fit(times []time.Time, now time.Time, loc *time.Location, meetings bool) (cadenceFit, bool) {
	days := distinctDays(times, loc)
	if len(days) < minOccurrences {
		return cadenceFit{}, false
	}
	gaps := make([]float64, len(days)-1)
	for i := 1; i < len(days); i++ {
		gaps[i-1] = float64(days[i] - days[i-1])
	}
	m := slices.Sorted(slices.Values(gaps))[len(gaps)/2]
	f := cadenceFit{interval: time.Duration(m) * day}
	for _, per := range []Period{PerMonth, PerQtr} {
		if m >= 20 && consecutivePeriods(times, per, loc) {
			f.per = per
			f.interval = window(&Commitment{Per: per})
			return f, active(times, now, f.interval)
		}
	}
	outliers := 0
	for _, g := range gaps {
		if g < m/2 {
			return cadenceFit{}, false
		}
		if math.Abs(g-m) > tolerance*m {
			outliers++
		}
	}
	if outliers > len(gaps)/outlierEvery || !active(times, now, f.interval) {
		return cadenceFit{}, false
	}
	switch w := math.Round(m / 7); {
	case m >= 27 && m <= 34 && !meetings:
		f.every = Span{Unit: Month, N: 1}
	case w >= 1 && w <= 4 && math.Abs(m-7*w) <= 1 && (meetings || w <= 2):
		f.every = Span{Unit: Week, N: int(w)}
	default:
		return cadenceFit{}, false // not a rhythm people commit to
	}
	// Enough grace that the steady part of the history never slipped; the
	// outliers are the slips the commitment is there to catch.
	worst := 0.0
	for _, g := range gaps {
		if math.Abs(g-m) <= tolerance*m {
			worst = max(worst, g-float64(f.every.Approx()/day))
		}
	}
	if g := int(math.Ceil(worst)); g > 0 {
		f.grace = Span{Unit: Day, N: g}
	}
	return f, true
}

// active reports whether the last occurrence is recent enough for the
// pattern to be alive.
func active(times []time.Time, now time.Time, interval time.Duration) bool {
	return now.Sub(times[len(times)-1]) <= time.Duration(activeWithin*float64(interval))
}

// distinctDays returns the calendar days of times in loc, ascending, unique.
func distinctDays(times []time.Time, loc *time.Location) []int64 {
	var out []int64
	for _, t := range times {
		if d := dayNumber(t, loc); len(out) == 0 || d != out[len(out)-1] {
			out = append(out, d)
		}
	}
	return out
}

// consecutivePeriods reports whether times fall one per calendar period,
// in consecutive periods.
func consecutivePeriods(times []time.Time, p Period, loc *time.Location) bool {
	prev := periodStart(p, times[0], loc)
	for _, t := range times[1:] {
		cur := periodStart(p, t, loc)
		if !cur.Equal(nextPeriod(p, prev)) {
			return false
		}
		prev = cur
	}
	return true
}

func (e *custEval) inferMail(pattern string, items []*entry) (Suggestion, bool) {
	f, ok := fit(times(items), e.now, e.loc, false)
	if !ok {
		return Suggestion{}, false
	}
	cm := Commitment{Name: slug(pattern), Type: CadenceType, Kind: Email, Direction: Outbound,
		Subject: subjectRegexp(pattern), Every: f.every, Per: f.per, Min: 1, Grace: f.grace}
	for _, it := range items {
		if !cm.Subject.MatchString(e.subject(it)) {
			return Suggestion{}, false // the regexp must recognise its own evidence
		}
	}
	if e.declared(items, f.interval) {
		return Suggestion{}, false
	}
	return e.suggestion(cm, pattern, items, f, fmt.Sprintf("%d outbound mails %q", len(items), pattern)), true
}

func times(items []*entry) []time.Time {
	out := make([]time.Time, len(items))
	for i, it := range items {
		out[i] = it.time()
	}
	return out
}

// inferMeetings looks for meetings at a steady rhythm: all of the
// customer's meetings, else those of one recurring calendar series.
func (e *custEval) inferMeetings() (Suggestion, bool) {
	series := map[string][]*entry{}
	var all []*entry
	var names []string
	for i := 0; i < e.past; i++ {
		if ct := &e.es[i]; ct.meeting() {
			all = append(all, ct)
			uid := seriesOf(e.key(ct))
			if _, ok := series[uid]; !ok {
				names = append(names, uid)
			}
			series[uid] = append(series[uid], ct)
		}
	}
	candidates := [][]*entry{all}
	for _, uid := range names {
		candidates = append(candidates, series[uid])
	}
	for _, items := range candidates {
		f, ok := fit(times(items), e.now, e.loc, true)
		if !ok || e.declared(items, f.interval) {
			continue
		}
		cm := Commitment{Name: "meeting-" + period(f), Type: CadenceType, Kind: Meeting, Direction: Any,
			Every: f.every, Per: f.per, Min: 1, Grace: f.grace}
		return e.suggestion(cm, "meetings", items, f, fmt.Sprintf("%d meetings", len(items))), true
	}
	return Suggestion{}, false
}

// seriesOf returns the UID of a meeting key ("ev:<uid>@<recurrence-id>").
func seriesOf(key string) string {
	key = strings.TrimPrefix(key, "ev:")
	if at := strings.LastIndexByte(key, '@'); at >= 0 {
		return key[:at]
	}
	return key
}

func period(f cadenceFit) string {
	if f.per != NoPeriod {
		return "per-" + string(f.per)
	}
	return f.every.String()
}

// declared reports whether one of the customer's commitments already
// covers the evidence: it matches most of it, at a window no longer than
// 1.5 times the inferred interval.
func (e *custEval) declared(items []*entry, interval time.Duration) bool {
	for i := range e.c.Commitments {
		cm := &e.c.Commitments[i]
		if cm.Type != CadenceType || window(cm) > interval*3/2 {
			continue
		}
		n := 0
		for _, it := range items {
			if e.matches(cm, it) {
				n++
			}
		}
		if 2*n >= len(items) {
			return true
		}
	}
	return false
}

func window(cm *Commitment) time.Duration {
	switch cm.Per {
	case PerWeek:
		return 7 * day
	case PerMonth:
		return 31 * day
	case PerQtr:
		return 92 * day
	case PerYear:
		return 366 * day
	}
	return cm.Every.Approx()
}

func (e *custEval) suggestion(cm Commitment, pattern string, items []*entry, f cadenceFit, what string) Suggestion {
	s := Suggestion{CustomerID: e.c.ID, Name: cm.Name, Commitment: cm, Interval: f.interval, Pattern: pattern}
	for _, it := range items {
		s.Evidence = append(s.Evidence, *e.ref(it))
	}
	first, last := items[0].time().In(e.loc), items[len(items)-1].time().In(e.loc)
	s.Reason = fmt.Sprintf("%s about every %d days from %s to %s", what, int(f.interval/day),
		first.Format("2006-01-02"), last.Format("2006-01-02"))
	return s
}

// subjectRegexp matches subjects that normalise to pattern, originals only
// (a reply starts with "Re:" and does not match).
func subjectRegexp(pattern string) *regexp.Regexp {
	parts := strings.Split(pattern, "#")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?i)^` + strings.Join(parts, `\S+`) + `$`)
}

// slug makes a policy name from a pattern's first words.
func slug(pattern string) string {
	var words []string
	for _, w := range strings.FieldsFunc(pattern, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
		if len(words) < 3 {
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return "recurring-mail"
	}
	return strings.Join(words, "-")
}

// uniqueNames renames suggestions whose name a commitment or an earlier
// suggestion already has.
func uniqueNames(c *Customer, ss []Suggestion) []Suggestion {
	taken := map[string]bool{}
	for _, cm := range c.Commitments {
		taken[cm.Name] = true
	}
	for i := range ss {
		name := ss[i].Name
		for n := 2; taken[name]; n++ {
			name = fmt.Sprintf("%s-%d", ss[i].Name, n)
		}
		taken[name] = true
		ss[i].Name, ss[i].Commitment.Name = name, name
	}
	return ss
}

// YAML renders the suggestion as an inline policy for the customer's
// `commitments` list, commented with its evidence.
func (s Suggestion) YAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s\n", s.CustomerID, s.Reason)
	cm := s.Commitment
	fmt.Fprintf(&b, "- name: %s\n  type: cadence\n  kind: %s\n  direction: %s\n", cm.Name, kindName(cm.Kind), cm.Direction)
	if cm.Subject != nil {
		fmt.Fprintf(&b, "  subject: '%s'\n", strings.ReplaceAll(cm.Subject.String(), "'", "''"))
	}
	if cm.Per != NoPeriod {
		fmt.Fprintf(&b, "  per: %s\n", cm.Per)
	} else {
		fmt.Fprintf(&b, "  every: %s\n", cm.Every)
	}
	if !cm.Grace.IsZero() {
		fmt.Fprintf(&b, "  grace: %s\n", cm.Grace)
	}
	return b.String()
}

func kindName(k Kind) string {
	if k == "" {
		return "any"
	}
	return string(k)
}
