package imapsource

import (
	"reflect"
	"testing"
)

// TestSimpleListMatchesParser: what the fast path accepts, it reads as
// net/mail's parser does; what it refuses goes to that parser. Checked on
// hand-picked lists and on every address field of the mail corpus.
func TestSimpleListMatchesParser(t *testing.T) {
	cases := []string{
		"a@b.example", "Ann Lee <ann@acme.example>", "<ann@acme.example>", " a@b.c ,  Bob <b@c.d> ",
		"O'Brien <ob@x.example>", "a@b.c, d@e.f, g@h.i", "x+tag@sub.example.org",
		"John Q. Public <jqp@x.example>", `"Lee, Ann" <ann@acme.example>`, "a@b.c (Ann)", "=?utf-8?q?J=C3=B6rg?= <j@x.example>",
		"Team: a@b.c;", "a@b.c,", ",a@b.c", "a@b.c,,d@e.f", "a..b@c.d", ".a@b.c", "a@b.c.", "a@[1.2.3.4]", "Ann  Lee <a@b.c>",
		"Ann <a@b.c> x", "Ann <a@b.c", "a@b.c d@e.f", "Jörg <j@x.example>", "a\t<b@c.d>", "<a@b.c> <d@e.f>", "@b.c", "a@", "",
	}
	for _, v := range cases {
		checkSimpleList(t, "case", v)
	}
	dir := corpusDir(t)
	fast := 0
	for name, raw := range corpusMessages(t, dir) {
		h := parseHeader(raw)
		for _, f := range []field{fFrom, fTo, fCc, fBcc, fSender} {
			if checkSimpleList(t, name, h[f]) {
				fast++
			}
		}
	}
	t.Logf("%d corpus address fields read by the fast path", fast)
}

func checkSimpleList(t *testing.T, name, v string) bool {
	t.Helper()
	got, ok := simpleList(v)
	if !ok {
		return false
	}
	list, err := addressParser.ParseList(v)
	if err != nil {
		t.Errorf("%s: simpleList(%q) = %v; net/mail refuses it: %v", name, v, got, err)
		return true
	}
	var want []address
	for _, a := range list {
		want = append(want, address{Addr: a.Address, Name: a.Name})
	}
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("%s: simpleList(%q) = %v, net/mail %v", name, v, got, want)
	}
	return true
}
