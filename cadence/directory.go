package cadence

import (
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// freeMail are mail providers shared by millions of unrelated people: a
// domain on this list never maps an address to a customer by itself (a
// customer who writes from such an address lists it in `contacts`), and is
// never internal by itself either.
var freeMail = map[string]bool{
	"aol.com": true, "gmail.com": true, "gmx.at": true, "gmx.ch": true, "gmx.de": true, "gmx.net": true,
	"googlemail.com": true, "hotmail.com": true, "hotmail.de": true, "icloud.com": true, "live.com": true,
	"mac.com": true, "mail.com": true, "mail.ru": true, "me.com": true, "msn.com": true, "outlook.com": true,
	"outlook.de": true, "posteo.de": true, "proton.me": true, "protonmail.com": true, "t-online.de": true,
	"web.de": true, "yahoo.com": true, "yahoo.de": true, "yandex.ru": true, "zoho.com": true,
}

// IsFreeMail reports whether domain is a free-mail provider's.
func IsFreeMail(domain string) bool { return freeMail[strings.ToLower(domain)] }

// Directory maps addresses to the team and to customers. It decides, at
// evaluation time, what a stored interaction is: its direction, the
// customers it touches and whether it counts. Build it once per
// configuration with NewDirectory; it is read-only afterwards and safe for
// concurrent use.
type Directory struct {
	customers []Customer
	internal  map[string]bool // internal domains
	accounts  map[string]bool // the team's own addresses (may be on free-mail domains)
	domains   map[string]int  // customer domain → index in customers
	contacts  map[string]int  // customer contact address → index
	exclude   map[string]bool // addresses never counted, for any customer
}

// NewDirectory builds a Directory. internalDomains are the team's domains
// (subdomains are internal too), accounts the team's mail addresses.
// Customer domains on free-mail providers are ignored: only their
// contacts map such addresses. When two customers claim overlapping
// domains, the longest (most specific) wins; a contact address beats any
// domain. An address in any customer's exclude list never counts, for
// anyone.
func NewDirectory(internalDomains, accounts []string, customers []Customer) *Directory {
	d := &Directory{
		customers: customers,
		internal:  map[string]bool{},
		accounts:  map[string]bool{},
		domains:   map[string]int{},
		contacts:  map[string]int{},
		exclude:   map[string]bool{},
	}
	for _, dom := range internalDomains {
		if dom = normDomain(dom); !freeMail[dom] {
			d.internal[dom] = true
		}
	}
	for _, a := range accounts {
		d.accounts[NormAddress(a)] = true
	}
	for i, c := range customers {
		for _, dom := range c.Domains {
			if dom = normDomain(dom); !freeMail[dom] {
				if _, taken := d.domains[dom]; !taken {
					d.domains[dom] = i
				}
			}
		}
		for _, a := range c.Contacts {
			if _, taken := d.contacts[NormAddress(a)]; !taken {
				d.contacts[NormAddress(a)] = i
			}
		}
		for _, a := range c.Exclude {
			d.exclude[NormAddress(a)] = true
		}
	}
	return d
}

// Customers returns the customers the directory was built with.
func (d *Directory) Customers() []Customer { return d.customers }

// NormAddress lower-cases an address and converts an internationalised
// domain to its ASCII (punycode) form, as the configuration stores it.
func NormAddress(a string) string {
	a = strings.ToLower(strings.TrimSpace(a))
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return a
	}
	if dom := normDomain(a[at+1:]); dom != a[at+1:] {
		return a[:at+1] + dom
	}
	return a // already normal: no allocation, the common case
}

func normDomain(dom string) string {
	dom = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(dom), "."))
	if !isASCII(dom) {
		if ascii, err := idna.Lookup.ToASCII(dom); err == nil {
			dom = ascii
		}
	}
	return dom
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// addressKind is what an address is to the team.
type addressKind int

const (
	unknownAddr addressKind = iota
	internalAddr
	customerAddr
	excludedAddr
)

// lookup classifies one normalised address; for a customer address it
// also returns the customer's index.
func (d *Directory) lookup(addr string) (addressKind, int) {
	if addr == "" {
		return unknownAddr, -1
	}
	if d.exclude[addr] {
		return excludedAddr, -1
	}
	if d.accounts[addr] {
		return internalAddr, -1
	}
	if i, ok := d.contacts[addr]; ok {
		return customerAddr, i
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return unknownAddr, -1
	}
	// Walk from the full domain to its parents: the most specific claim wins.
	for dom := addr[at+1:]; dom != ""; {
		if d.internal[dom] {
			return internalAddr, -1
		}
		if i, ok := d.domains[dom]; ok {
			return customerAddr, i
		}
		dot := strings.IndexByte(dom, '.')
		if dot < 0 {
			break
		}
		dom = dom[dot+1:]
	}
	return unknownAddr, -1
}

// Touch is one customer an interaction touches, with the customer's people
// on it (normalised addresses, sorted).
type Touch struct {
	Customer int // index in the directory's customers
	People   []string
}

// Classified is what one interaction is for the team.
type Classified struct {
	Direction Direction // Outbound, Inbound, or "" when a third party sent it
	Filter    Filter    // Counts, a source-set filter, or one the directory decided
	Touches   []Touch   // customers touched, by customer index
}

// Classify decides what in is. A source-set filter is kept; otherwise the
// interaction is InternalOnly when every participant is the team's,
// Excluded when its only customer addresses are excluded ones, NoCustomer
// when it touches no customer, and Declined when it is a meeting that every
// customer attendee declined. Meeting attendees who declined are not
// counted as touched.
func (d *Directory) Classify(in Interaction) Classified {
	var out Classified
	sender := NormAddress(in.Sender)
	senderKind, senderCustomer := d.lookup(sender)
	switch senderKind {
	case internalAddr:
		out.Direction = Outbound
	case customerAddr:
		out.Direction = Inbound
	}
	var external, excluded, declined, attending int
	switch senderKind {
	case unknownAddr:
		if sender != "" {
			external++
		}
	case excludedAddr:
		excluded++
	}
	for _, p := range in.Participants {
		addr := NormAddress(p.Address)
		k, i := d.lookup(addr)
		switch k {
		case excludedAddr:
			excluded++
			continue
		case internalAddr:
			continue
		case unknownAddr:
			external++
			continue
		}
		if in.Kind == Meeting && p.Role != Organizer {
			if strings.EqualFold(p.PartStat, "DECLINED") {
				declined++
				continue
			}
			attending++
		}
		out.Touches = addPerson(out.Touches, i, addr)
	}
	if senderKind == customerAddr {
		// A customer sender (a meeting's organizer) is touched even when
		// the participant list leaves them out.
		out.Touches = addPerson(out.Touches, senderCustomer, sender)
	}
	slices.SortFunc(out.Touches, func(a, b Touch) int { return a.Customer - b.Customer })
	switch {
	case in.Filter != Counts:
		out.Filter = in.Filter
	case len(out.Touches) == 0 && external == 0 && excluded == 0 && declined == 0:
		out.Filter = InternalOnly
	case in.Kind == Meeting && declined > 0 && attending == 0 && senderKind != customerAddr:
		out.Filter = Declined
	case len(out.Touches) == 0 && excluded > 0:
		out.Filter = Excluded
	case len(out.Touches) == 0:
		out.Filter = NoCustomer
	}
	return out
}

// addPerson adds addr to customer i's touch, keeping People sorted and
// unique.
func addPerson(ts []Touch, i int, addr string) []Touch {
	j := slices.IndexFunc(ts, func(t Touch) bool { return t.Customer == i })
	if j < 0 {
		return append(ts, Touch{Customer: i, People: []string{addr}})
	}
	if k, found := slices.BinarySearch(ts[j].People, addr); !found {
		ts[j].People = slices.Insert(ts[j].People, k, addr)
	}
	return ts
}

// External returns the addresses on in that are nobody's to the directory:
// neither the team's, nor a customer's, nor excluded. They are normalised
// (NormAddress), unique, the sender first when it is one of them, the rest
// in participant order. Meeting attendees who declined are left out, as
// Classify leaves them out of a touch: they took no part. A nil result
// means in involved no such address.
func (d *Directory) External(in Interaction) []string {
	var out []string
	add := func(addr string) {
		if k, _ := d.lookup(addr); k == unknownAddr && addr != "" && !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	add(NormAddress(in.Sender))
	for _, p := range in.Participants {
		if in.Kind == Meeting && p.Role != Organizer && strings.EqualFold(p.PartStat, "DECLINED") {
			continue
		}
		add(NormAddress(p.Address))
	}
	return out
}

// Mentions reports whether any address on in (sender or participant, in
// any role, declined attendees included) is the customer's: one of its
// domains or contacts, or an address it excludes. It finds the mail and
// meetings that concern a customer but may not count for it.
func (d *Directory) Mentions(in Interaction, customerID string) bool {
	is := func(addr string) bool {
		k, i := d.lookup(addr)
		switch k {
		case customerAddr:
			return d.customers[i].ID == customerID
		case excludedAddr:
			for _, c := range d.customers {
				if c.ID == customerID {
					return slices.ContainsFunc(c.Exclude, func(a string) bool { return NormAddress(a) == addr })
				}
			}
		}
		return false
	}
	if is(NormAddress(in.Sender)) {
		return true
	}
	for _, p := range in.Participants {
		if is(NormAddress(p.Address)) {
			return true
		}
	}
	return false
}
