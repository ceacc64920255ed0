package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/touchbase/touchbase/cadence"
)

// claims remembers which customer each domain and address belongs to, so a
// second claim is reported: an interaction must map to one customer.
type claims struct {
	internal   map[string]bool
	domains    map[string]string // domain → customer id
	domainKeys map[string]string // domain → key path where it was claimed
	contacts   map[string]string // address → customer id
}

func (b *builder) customers(rs []rawCustomer, c *Config, res resolver) []cadence.Customer {
	out := make([]cadence.Customer, 0, len(rs))
	c.Origins = make(map[string][]string, len(rs))
	ids := map[string]string{}
	cl := claims{internal: map[string]bool{}, domains: map[string]string{}, domainKeys: map[string]string{}, contacts: map[string]string{}}
	for _, d := range c.InternalDomains {
		cl.internal[d] = true
	}
	accounts := make([]string, 0, len(c.Accounts))
	for _, a := range c.Accounts {
		accounts = append(accounts, a.Name)
	}
	for i, r := range rs {
		key := fmt.Sprintf("customers[%d]", i)
		cu := cadence.Customer{
			ID:       strings.TrimSpace(r.ID),
			Name:     strings.TrimSpace(r.Name),
			Owner:    r.Owner,
			Tier:     r.Tier,
			Location: b.location(key+".timezone", r.Timezone, c.Timezone),
		}
		if b.required(key+".id", cu.ID) {
			b.dupe(key+".id", "customer id", cu.ID, ids, key)
		}
		if cu.Name == "" {
			cu.Name = cu.ID
		}
		if len(r.Domains) == 0 && len(r.Contacts) == 0 {
			b.p.add(key, "customer needs domains or contacts")
		}
		cu.Domains = b.customerDomains(key, cu.ID, r.Domains, &cl)
		cu.Contacts = b.addresses(key+".contacts", cu.ID, r.Contacts, cl.contacts)
		cu.Exclude = b.addresses(key+".exclude", cu.ID, r.Exclude, nil)
		if r.Owner != "" && !slices.Contains(accounts, r.Owner) {
			b.p.add(key+".owner", "unknown account %q%s", r.Owner, didYouMean(r.Owner, accounts))
		}
		if _, ok := res.tiers[r.Tier]; r.Tier != "" && !ok {
			b.p.add(key+".tier", "unknown tier %q%s", r.Tier, didYouMean(r.Tier, slices.Sorted(maps.Keys(res.tiers))))
		}
		var origins []string
		cu.Commitments, origins = b.commitments(key, r.Commitments, r.Tier, res)
		if cu.ID != "" {
			c.Origins[cu.ID] = origins
		}
		cu.Holidays = b.customerHolidays(key, r, c)
		out = append(out, cu)
	}
	b.nestedDomains(out, &cl)
	return out
}

// nestedDomains warns about a customer domain below another customer's
// domain (eu.acme.com under acme.com). That is allowed, and the most
// specific domain wins, but it is as often a slip: the config's author
// should see that the parent's customer no longer gets that mail.
func (b *builder) nestedDomains(cs []cadence.Customer, cl *claims) {
	for _, cu := range cs {
		for _, d := range cu.Domains {
			for p := parentDomain(d); p != ""; p = parentDomain(p) {
				owner, ok := cl.domains[p]
				if !ok {
					continue
				}
				// Only the closest claimed parent matters: that is the
				// customer the mail would otherwise go to.
				if owner != cu.ID {
					b.p.warn(cl.domainKeys[d], "domain %q lies under %q of customer %q (%s): mail from %s counts for customer %q, not %q",
						d, p, owner, cl.domainKeys[p], d, cu.ID, owner)
				}
				break
			}
		}
	}
}

// parentDomain strips the first label: "eu.acme.com" → "acme.com"; "" when
// what is left would have no dot (a TLD is nobody's domain).
func parentDomain(d string) string {
	_, rest, _ := strings.Cut(d, ".")
	if !strings.Contains(rest, ".") {
		return ""
	}
	return rest
}

// publicSuffix checks that d is not a public suffix (co.uk, com.au): a
// suffix would claim every sender below it, all of them someone else. It
// reports whether d is one and was refused. whose is "the customer's" or
// "our", for the hint. Suffixes from the list's private section (github.io,
// blogspot.com) only warn: they are hosting platforms, where a claim is as
// wrong, but the section is long and maintained by the platforms
// themselves, and a mistake there must not stop the daemon from loading.
func (b *builder) publicSuffix(key, d, whose string) bool {
	// The list is matched on lower-case ASCII: d is normalised (domain).
	ps, icann := publicsuffix.PublicSuffix(d)
	switch {
	case ps != d:
		return false
	case icann:
		b.p.add(key, "domain %q is a public suffix: it would claim every sender below it; list %s own domain (e.g. example.%s)", d, whose, d)
		return true
	}
	b.p.warn(key, "domain %q is a hosting suffix on the Public Suffix List: it claims every site below it, each someone else's; list %s own domain instead", d, whose)
	return false
}

// customerDomains normalises a customer's domains and claims them.
func (b *builder) customerDomains(key, id string, ds []string, cl *claims) []string {
	var out []string
	for j, s := range ds {
		dk := fmt.Sprintf("%s.domains[%d]", key, j)
		d := b.domain(dk, s)
		switch {
		case d == "":
		case b.publicSuffix(dk, d, "the customer's"):
		case slices.Contains(out, d):
			b.p.add(dk, "domain %q is listed twice", d)
		case cl.internal[d]:
			b.p.add(dk, "domain %q is one of internal_domains (our own)", d)
		case cl.domains[d] != "":
			b.p.add(dk, "domain %q already belongs to customer %q", d, cl.domains[d])
		default:
			cl.domains[d] = id
			cl.domainKeys[d] = dk
			out = append(out, d)
		}
	}
	return out
}

// addresses normalises a list of addresses; with owners non-nil each
// address may belong to one customer only.
func (b *builder) addresses(key, id string, as []string, owners map[string]string) []string {
	var out []string
	for j, s := range as {
		ak := fmt.Sprintf("%s[%d]", key, j)
		a := b.email(ak, s)
		switch {
		case a == "":
		case slices.Contains(out, a):
			b.p.add(ak, "address %q is listed twice", a)
		case owners != nil && owners[a] != "":
			b.p.add(ak, "address %q already belongs to customer %q", a, owners[a])
		default:
			if owners != nil {
				owners[a] = id
			}
			out = append(out, a)
		}
	}
	return out
}
