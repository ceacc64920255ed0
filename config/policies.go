package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/go-viper/mapstructure/v2"

	"github.com/touchbase/touchbase/cadence"
)

// policyFields are the keys each policy type understands besides type and
// grace; any other is a mistake worth reporting (an `every` on a reply
// policy would otherwise be silently ignored).
var policyFields = map[cadence.PolicyType][]string{
	cadence.CadenceType:     {"kind", "direction", "subject", "every", "per", "min"},
	cadence.ReplyType:       {"within"},
	cadence.NextMeetingType: {"within"},
	cadence.FollowUpType:    {"within"},
	cadence.PrepareType:     {"before"},
	cadence.BreadthType:     {"min_contacts", "window"},
	cadence.SilenceType:     {"within"},
}

// policyTypes in the order the SPEC lists them, for messages.
var policyTypes = []string{"cadence", "reply", "next_meeting", "follow_up", "prepare", "breadth", "silence"}

// Per-type defaults, documented in configs/touchbase.example.yaml.
var defaultWithin = map[cadence.PolicyType]string{
	cadence.ReplyType:       "1bd",
	cadence.NextMeetingType: "30d",
	cadence.FollowUpType:    "2bd",
	cadence.SilenceType:     "30d",
}

const (
	defaultMin         = 1
	defaultBefore      = "3d"
	defaultMinContacts = 2
	defaultWindow      = "90d"
)

func (b *builder) policies(rs map[string]rawPolicy) map[string]cadence.Commitment {
	out := make(map[string]cadence.Commitment, len(rs))
	b.declared = map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(rs)) {
		b.declared[name] = true
		if c, ok := b.policy("policies."+name, name, rs[name]); ok {
			out[name] = c
		}
	}
	return out
}

// policy checks one policy at key and fills in the per-type defaults.
func (b *builder) policy(key, name string, r rawPolicy) (cadence.Commitment, bool) {
	c := cadence.Commitment{Name: name, Type: cadence.PolicyType(r.Type)}
	fields, ok := policyFields[c.Type]
	switch {
	case r.Type == "":
		b.p.add(key+".type", "required key is missing (want %s)", orList(policyTypes))
		return c, false
	case !ok:
		b.p.add(key+".type", "unknown policy type %q (want %s)", r.Type, orList(policyTypes))
		return c, false
	}
	for _, f := range r.present() {
		if !slices.Contains(fields, f) {
			b.p.add(key+"."+f, "does not apply to a %s policy", r.Type)
		}
	}
	c.Grace = b.span(key+".grace", r.Grace)
	switch c.Type {
	case cadence.CadenceType:
		b.cadence(key, r, &c)
	case cadence.PrepareType:
		c.Before = b.span(key+".before", or(r.Before, defaultBefore))
	case cadence.BreadthType:
		c.MinContacts = b.atLeast1(key+".min_contacts", r.MinContacts, defaultMinContacts)
		c.Window = b.positiveSpan(key+".window", or(r.Window, defaultWindow))
	default:
		c.Within = b.positiveSpan(key+".within", or(r.Within, defaultWithin[c.Type]))
	}
	return c, true
}

// cadence fills in the fields of a cadence policy.
func (b *builder) cadence(key string, r rawPolicy, c *cadence.Commitment) {
	switch kind := b.oneOf(key+".kind", r.Kind, "any", "kind", "email", "meeting", "any"); kind {
	case "email", "meeting":
		c.Kind = cadence.Kind(kind)
	}
	c.Direction = cadence.Direction(b.oneOf(key+".direction", r.Direction, "any", "direction", "outbound", "inbound", "any"))
	if r.Subject != "" {
		re, err := regexp.Compile(r.Subject)
		if err != nil {
			b.p.add(key+".subject", "invalid regular expression: %v", err)
		}
		c.Subject = re
	}
	switch {
	case r.Every != "" && r.Per != "":
		b.p.add(key, "set either every or per, not both")
	case r.Every == "" && r.Per == "":
		b.p.add(key, "a cadence policy needs every (rolling window) or per (week, month, quarter or year)")
	case r.Every != "":
		c.Every = b.positiveSpan(key+".every", r.Every)
	default:
		c.Per = cadence.Period(b.oneOf(key+".per", r.Per, "", "period", "week", "month", "quarter", "year"))
	}
	c.Min = b.atLeast1(key+".min", r.Min, defaultMin)
}

func (b *builder) atLeast1(key string, n *int, def int) int {
	if n == nil {
		return def
	}
	if *n < 1 {
		b.p.add(key, "must be at least 1")
	}
	return *n
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// present lists the type-specific keys set in the policy.
func (r rawPolicy) present() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"kind", r.Kind != ""}, {"direction", r.Direction != ""}, {"subject", r.Subject != ""},
		{"every", r.Every != ""}, {"per", r.Per != ""}, {"min", r.Min != nil},
		{"within", r.Within != ""}, {"before", r.Before != ""},
		{"min_contacts", r.MinContacts != nil}, {"window", r.Window != ""},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// tiers resolves each tier's policy names.
func (b *builder) tiers(rs map[string][]string, policies map[string]cadence.Commitment) map[string][]cadence.Commitment {
	out := make(map[string][]cadence.Commitment, len(rs))
	for _, name := range slices.Sorted(maps.Keys(rs)) {
		out[name] = b.refs("tiers."+name, rs[name], policies)
	}
	return out
}

// refs resolves a list of policy names at key.
func (b *builder) refs(key string, names []string, policies map[string]cadence.Commitment) []cadence.Commitment {
	var out []cadence.Commitment
	seen := map[string]string{}
	for i, name := range names {
		ik := fmt.Sprintf("%s[%d]", key, i)
		if c, ok := b.ref(ik, name, policies); ok {
			if _, dup := seen[name]; !dup {
				out = append(out, c)
			}
			b.dupe(ik, "policy", name, seen, ik)
		}
	}
	return out
}

func (b *builder) ref(key, name string, policies map[string]cadence.Commitment) (cadence.Commitment, bool) {
	c, ok := policies[name]
	if !ok && !b.declared[name] {
		// A declared policy with a bad type was reported where it is
		// declared; only names declared nowhere are reported here.
		b.p.add(key, "unknown policy %q%s", name, didYouMean(name, slices.Sorted(maps.Keys(policies))))
	}
	return c, ok
}

// resolver builds a customer's commitment list.
type resolver struct {
	policies map[string]cadence.Commitment
	tiers    map[string][]cadence.Commitment
	defaults []cadence.Commitment
}

// commitments resolves a customer's own commitments (names or inline
// policies), then its tier's, then the defaults; a name already taken is
// skipped, so the customer's own version wins.
func (b *builder) commitments(key string, items []any, tier string, rs resolver) (out []cadence.Commitment, origins []string) {
	own := map[string]string{}
	for i, item := range items {
		ik := fmt.Sprintf("%s.commitments[%d]", key, i)
		c, ok := b.commitment(ik, item, rs.policies)
		if !ok {
			continue
		}
		if _, dup := own[c.Name]; !dup {
			out = append(out, c)
			origins = append(origins, "own")
		}
		b.dupe(ik, "commitment", c.Name, own, ik)
	}
	add := func(cs []cadence.Commitment, origin string) {
		for _, c := range cs {
			if !slices.ContainsFunc(out, func(o cadence.Commitment) bool { return o.Name == c.Name }) {
				out = append(out, c)
				origins = append(origins, origin)
			}
		}
	}
	add(rs.tiers[tier], "tier "+tier)
	add(rs.defaults, "defaults")
	return out, origins
}

// commitment resolves one item of a customer's commitments list.
func (b *builder) commitment(key string, item any, policies map[string]cadence.Commitment) (cadence.Commitment, bool) {
	switch v := item.(type) {
	case string:
		return b.ref(key, v, policies)
	case map[string]any:
		var r rawInline
		dc := &mapstructure.DecoderConfig{WeaklyTypedInput: true, Result: &r}
		if d, err := mapstructure.NewDecoder(dc); err != nil || d.Decode(v) != nil {
			if !b.p.badUnder(key) { // else the schema walk said what is wrong
				b.p.add(key, "want a policy name or an inline policy")
			}
			return cadence.Commitment{}, false
		}
		if !b.required(key+".name", r.Name) {
			return cadence.Commitment{}, false
		}
		if !nameRE.MatchString(r.Name) {
			b.p.add(key+".name", "invalid name %q: use lower-case letters, digits, '_' and '-'", r.Name)
		}
		return b.policy(key, r.Name, r.Policy)
	}
	b.p.add(key, "want a policy name or an inline policy")
	return cadence.Commitment{}, false
}
