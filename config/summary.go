package config

import (
	"fmt"
	"strings"

	"github.com/touchbase/touchbase/cadence"
)

// Summary describes the configuration in a few lines, for `touchbase check`.
// It names no secret.
func (c *Config) Summary() string {
	var imap, caldav int
	for _, a := range c.Accounts {
		if a.IMAP != nil {
			imap++
		}
		if a.CalDAV != nil {
			caldav++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config:    %s\n", c.Path)
	fmt.Fprintf(&b, "data dir:  %s\n", c.DataDir)
	if c.Store == StorePostgres {
		fmt.Fprintf(&b, "store:     postgres (DSN in %s)\n", c.Postgres.DSNFile)
	} else {
		fmt.Fprintf(&b, "store:     sqlite\n")
	}
	fmt.Fprintf(&b, "accounts:  %d (%d imap, %d caldav)\n", len(c.Accounts), imap, caldav)
	fmt.Fprintf(&b, "customers: %d\n", len(c.Customers))
	fmt.Fprintf(&b, "policies:  %d\n", len(c.Policies))
	fmt.Fprintf(&b, "webhooks:  %d\n", len(c.Webhooks))
	r := c.Retention
	fmt.Fprintf(&b, "retention: delivered %s, failed %s, resolved alerts %s, interactions %s\n",
		days(r.Delivered), days(r.Failed), days(r.ResolvedAlerts), days(c.InteractionsKept()))
	return b.String()
}

// Customer returns the customer with the given id.
func (c *Config) Customer(id string) (cadence.Customer, bool) {
	for _, cu := range c.Customers {
		if cu.ID == id {
			return cu, true
		}
	}
	return cadence.Customer{}, false
}

// Account returns the account with the given name.
func (c *Config) Account(name string) (Account, bool) {
	for _, a := range c.Accounts {
		if a.Name == name {
			return a, true
		}
	}
	return Account{}, false
}
