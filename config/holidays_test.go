package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// loadText writes a configuration to a temporary file and loads it.
func loadText(t *testing.T, text string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "touchbase.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path)
}

const holidaysConfig = `
timezone: Europe/Stockholm
holidays: SE
extra_holidays: [2026-05-04]
customers:
  - id: se
    domains: [se.example]
  - id: fi
    domains: [fi.example]
    timezone: Europe/Helsinki
    holidays: fi
  - id: closed
    domains: [closed.example]
    holidays: none
    extra_holidays: ["2026-09-14"]
  - id: gb
    domains: [gb.example]
    timezone: Europe/London
    holidays: GB
`

// One business day through the holidays each customer gets from the
// configuration: its own country or the top-level one, observed dates,
// and extra days.
func TestBusinessDaysWithHolidays(t *testing.T) {
	cfg, err := loadText(t, holidaysConfig)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		customer   string
		span       string
		from, want string // "2006-01-02 15:04" in the customer's zone
	}{
		{"SE Midsummer Eve is off", "se", "1bd", "2026-06-18 10:00", "2026-06-22 10:00"},
		{"SE 2bd across Midsummer Eve", "se", "2bd", "2026-06-17 10:00", "2026-06-22 10:00"},
		{"FI Midsummer Eve is off", "fi", "1bd", "2026-06-18 10:00", "2026-06-22 10:00"},
		{"SE Good Friday and Easter Monday are off", "se", "1bd", "2026-04-02 10:00", "2026-04-07 10:00"},
		{"FI Good Friday and Easter Monday are off", "fi", "1bd", "2026-04-02 10:00", "2026-04-07 10:00"},
		{"SE Christmas Eve to Boxing Day are off", "se", "1bd", "2026-12-23 10:00", "2026-12-28 10:00"},
		{"FI Christmas Eve to Boxing Day are off", "fi", "1bd", "2026-12-23 10:00", "2026-12-28 10:00"},
		{"SE New Year's Eve is off", "se", "1bd", "2026-12-30 10:00", "2027-01-04 10:00"},
		{"FI New Year's Eve is a working day", "fi", "1bd", "2026-12-30 10:00", "2026-12-31 10:00"},
		{"SE National Day on a Saturday moves nothing", "se", "1bd", "2026-06-05 10:00", "2026-06-08 10:00"},
		{"the top-level extra day applies to SE", "se", "1bd", "2026-04-30 10:00", "2026-05-05 10:00"},
		{"the top-level extra day applies to the FI override", "fi", "1bd", "2026-04-30 10:00", "2026-05-05 10:00"},
		{"none drops the country but keeps extra days", "closed", "1bd", "2026-06-18 10:00", "2026-06-19 10:00"},
		{"a customer's own extra day", "closed", "1bd", "2026-09-11 10:00", "2026-09-15 10:00"},
		{"GB Boxing Day on a Saturday is observed on Monday 28 Dec", "gb", "1bd", "2026-12-24 10:00", "2026-12-29 10:00"},
		{"GB Christmas Day on a Sunday is observed on Tuesday 27 Dec", "gb", "1bd", "2022-12-23 10:00", "2022-12-28 10:00"},
		{"SE Good Friday in another year", "se", "1bd", "2027-03-25 10:00", "2027-03-30 10:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cu, ok := cfg.Customer(tc.customer)
			if !ok || cu.Holidays == nil {
				t.Fatalf("customer %s: %+v, want one with holidays", tc.customer, cu)
			}
			sp, err := cadence.ParseSpan(tc.span)
			if err != nil {
				t.Fatal(err)
			}
			from, want := atIn(t, cu.Location, tc.from), atIn(t, cu.Location, tc.want)
			if got := sp.AfterSkipping(from, cu.Location, cu.Holidays); !got.Equal(want) {
				t.Errorf("%s after %s = %s, want %s", tc.span, tc.from, got.In(cu.Location).Format("Mon 2006-01-02 15:04"), tc.want)
			}
			if got := sp.BeforeSkipping(want, cu.Location, cu.Holidays); !got.Equal(from) {
				t.Errorf("%s before %s = %s, want %s", tc.span, tc.want, got.In(cu.Location).Format("Mon 2006-01-02 15:04"), tc.from)
			}
		})
	}
}

func atIn(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Without holidays configured, a customer has none: business days skip
// weekends only, exactly as before holidays existed.
func TestNoHolidaysByDefault(t *testing.T) {
	cfg, err := loadText(t, "customers:\n  - id: acme\n    domains: [acme.example]\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Customers[0].Holidays != nil {
		t.Errorf("customer without holidays has a Holidays")
	}
}

// An unknown country is an error naming the key, top-level or customer's.
func TestUnknownHolidayCountry(t *testing.T) {
	tests := []struct {
		name, text, key string
	}{
		{"top level", "holidays: XX\n", "holidays"},
		{"customer", "customers:\n  - id: acme\n    domains: [acme.example]\n    holidays: xx\n", "customers[0].holidays"},
		{"from the environment", "timezone: UTC\n", "holidays"}, // an empty file is an error of its own
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "from the environment" {
				t.Setenv("TOUCHBASE_HOLIDAYS", "XX")
			}
			_, err := loadText(t, tc.text)
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("Load: %v, want one problem", err)
			}
			if es[0].Key != tc.key || !strings.Contains(es[0].Msg, `unknown holiday country "`) || !strings.Contains(es[0].Msg, "FI, FR") {
				t.Errorf("problem %q at %s, want an unknown country at %s listing the codes", es[0].Msg, es[0].Key, tc.key)
			}
		})
	}
}

// The country comes from the environment like any key.
func TestHolidaysFromEnvironment(t *testing.T) {
	t.Setenv("TOUCHBASE_HOLIDAYS", "FI")
	cfg, err := loadText(t, "holidays: SE\ncustomers:\n  - id: acme\n    domains: [acme.example]\n")
	if err != nil {
		t.Fatal(err)
	}
	// 6 December is Finland's Independence Day, a working day in Sweden.
	if cfg.Holidays != "FI" || !cfg.Customers[0].Holidays(2027, time.December, 6) {
		t.Errorf("holidays %q; want FI with 6 Dec 2027 off", cfg.Holidays)
	}
}

// Customers share calendars and evaluation asks from many goroutines: the
// yearly cache must be safe (run with -race) and agree with itself.
func TestHolidaysConcurrent(t *testing.T) {
	cfg, err := loadText(t, holidaysConfig)
	if err != nil {
		t.Fatal(err)
	}
	hol := cfg.Customers[0].Holidays
	var wg sync.WaitGroup
	for y := 2020; y < 2040; y++ {
		wg.Go(func() {
			// Sweden moves no holiday off a weekend: 27 Dec is never one.
			if !hol(y, time.December, 25) || hol(y, time.December, 27) {
				t.Errorf("%d: Christmas Day off %t, 27 Dec off %t; want Christmas only", y, hol(y, time.December, 25), hol(y, time.December, 27))
			}
		})
	}
	wg.Wait()
}
