package evaluate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// ArgError is a command-line argument that names no customer, commitment
// or time: a usage error (exit status 2).
type ArgError struct {
	Arg string
	Msg string
}

func (e *ArgError) Error() string { return fmt.Sprintf("argument %q: %s", e.Arg, e.Msg) }

// AddSilences mutes each target from starts (zero: now) until until, with
// a reason, recording author as who added it. A target is a customer ID ("acme") or a customer's commitment
// ("acme/weekly"). Every target is checked against the configuration
// before any is stored: an unknown one is an *ArgError.
func (r *Runner) AddSilences(ctx context.Context, targets []string, starts, until time.Time, reason, author string) ([]cadence.Silence, error) {
	if len(targets) == 0 {
		return nil, &ArgError{Msg: "name at least one customer (ID or ID/commitment)"}
	}
	now := r.Now()
	if starts.IsZero() {
		starts = now
	}
	var out []cadence.Silence
	for _, t := range targets {
		s, err := r.silenceFor(t)
		if err != nil {
			return nil, err
		}
		s.StartsAt, s.EndsAt, s.Reason, s.CreatedAt, s.Author = starts, until, reason, now, author
		out = append(out, s)
	}
	for i, s := range out {
		added, err := r.st.AddSilence(ctx, s)
		if err != nil {
			return out[:i], err
		}
		out[i] = added
	}
	return out, nil
}

// silenceFor resolves a target against the configuration.
func (r *Runner) silenceFor(target string) (cadence.Silence, error) {
	id, commitment, _ := strings.Cut(target, "/")
	i := slices.IndexFunc(r.cfg.Customers, func(c cadence.Customer) bool { return c.ID == id })
	if i < 0 {
		return cadence.Silence{}, &ArgError{Arg: target, Msg: "no customer with this ID in the configuration"}
	}
	c := r.cfg.Customers[i]
	if commitment != "" && !slices.ContainsFunc(c.Commitments, func(cm cadence.Commitment) bool { return cm.Name == commitment }) {
		var names []string
		for _, cm := range c.Commitments {
			names = append(names, cm.Name)
		}
		return cadence.Silence{}, &ArgError{Arg: target,
			Msg: fmt.Sprintf("customer %s has no commitment %q (it has: %s)", id, commitment, strings.Join(names, ", "))}
	}
	return cadence.Silence{CustomerID: id, Commitment: commitment}, nil
}

// Silences lists the silences in force or yet to come, or with all every
// silence.
func (r *Runner) Silences(ctx context.Context, all bool) ([]cadence.Silence, error) {
	ss, err := r.st.Silences(ctx, r.Now(), all)
	if ss == nil {
		ss = []cadence.Silence{}
	}
	return ss, err
}

// RemoveSilence expires a silence by ID: it ends now and stays listed
// with all. The error wraps store.ErrNoSilence when there is none, or it
// has already ended.
func (r *Runner) RemoveSilence(ctx context.Context, id string) error {
	return r.st.ExpireSilence(ctx, id, r.Now())
}

// Location is the configuration's time zone, for parsing and display.
func (r *Runner) Location() *time.Location {
	if r.cfg.Timezone == nil {
		return time.UTC
	}
	return r.cfg.Timezone
}
