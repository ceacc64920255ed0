package config

import (
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	c, err := Load("../configs/touchbase.example.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := c.Summary()
	for _, want := range []string{
		"accounts:  4 (4 imap, 2 caldav)\n",
		"customers: 3\n",
		"policies:  8\n",
		"webhooks:  2\n",
		"retention: delivered 30d, failed 90d, resolved alerts 365d, interactions 400d\n",
		"data dir:  /var/lib/touchbase\n",
		"store:     sqlite\n",
		"config:    " + c.Path + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Summary lacks %q:\n%s", want, got)
		}
	}
}

func TestLookups(t *testing.T) {
	c, err := Load("../configs/touchbase.example.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, tc := range []struct {
		id     string
		found  bool
		domain string
	}{
		{"acme", true, "acme.com"},
		{"initech", true, "initech.example"},
		{"ACME", false, ""},
		{"", false, ""},
	} {
		cu, ok := c.Customer(tc.id)
		if ok != tc.found {
			t.Errorf("Customer(%q) found = %t, want %t", tc.id, ok, tc.found)
			continue
		}
		if ok && (cu.ID != tc.id || len(cu.Domains) == 0 || cu.Domains[0] != tc.domain) {
			t.Errorf("Customer(%q) = %s %q, want domain %s", tc.id, cu.ID, cu.Domains, tc.domain)
		}
	}
	for _, tc := range []struct {
		name, email string
		found       bool
	}{
		{"alice", "alice@example.com", true},
		{"bob", "bob@example.com", true},
		{"carol", "carol@example.com", true},
		{"erin", "", false},
	} {
		a, ok := c.Account(tc.name)
		if ok != tc.found || a.Email != tc.email {
			t.Errorf("Account(%q) = %q, %t; want %q, %t", tc.name, a.Email, ok, tc.email, tc.found)
		}
	}
}
