package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/dashboard"
	"github.com/touchbase/touchbase/evaluate"
	"github.com/touchbase/touchbase/oauth"
	"github.com/touchbase/touchbase/store"
	"github.com/touchbase/touchbase/sync/caldavsource"
	"github.com/touchbase/touchbase/sync/imapsource"
	"github.com/touchbase/touchbase/webhooks"
)

// planBuilder returns the daemon.Options.Build hook: it wires, for one
// configuration, the IMAP and CalDAV sources, the evaluation runner and the
// webhook dispatcher. reg may be nil (run --once, check). With a nil store
// (check --connect) only the sources are built, for their Check.
//
// Each plan's evaluation runner inherits the previous one's interactions
// (evaluate.Runner.Inherit): a reload classifies them again with the new
// customers instead of reading them all from the store.
func planBuilder(reg prometheus.Registerer) func(*config.Config, *store.Store, *zap.Logger) (*daemon.Plan, error) {
	var last *evaluate.Runner
	return func(cfg *config.Config, st *store.Store, log *zap.Logger) (*daemon.Plan, error) {
		plan := &daemon.Plan{}
		for _, acct := range cfg.Accounts {
			// One OAuth client per account: its sources share the grant,
			// so a refresh (which may rotate the refresh token) happens once.
			var tokens []*oauth.Client
			if acct.OAuth != nil {
				oc, err := oauth.New(acct)
				if err != nil {
					return nil, err
				}
				tokens = append(tokens, oc)
			}
			if acct.IMAP != nil {
				src, err := imapsource.New(acct, cfg.Sync, st, log.With(zap.String("source", "imap:"+acct.Name)), tokens...)
				if err != nil {
					return nil, fmt.Errorf("account %s: %w", acct.Name, err)
				}
				plan.Sources = append(plan.Sources, src)
			}
			if acct.CalDAV != nil {
				src, err := caldavsource.New(acct, cfg.Sync, cfg.Timezone, st, log.With(zap.String("source", "caldav:"+acct.Name)), tokens...)
				if err != nil {
					return nil, fmt.Errorf("account %s: %w", acct.Name, err)
				}
				plan.Sources = append(plan.Sources, src)
			}
		}
		if st == nil {
			return plan, nil
		}
		runner := evaluate.New(cfg, st, log.With(zap.String("component", "evaluate")))
		if last != nil {
			runner.Inherit(last)
		}
		last = runner
		plan.Evaluate = func(ctx context.Context, now time.Time) (daemon.Evaluated, error) {
			t, err := runner.Pass(ctx, now)
			return daemon.Evaluated{Opened: t.Opened, Resolved: t.Resolved}, err
		}
		disp, err := webhooks.New(cfg.Webhooks, st, log.With(zap.String("component", "webhooks")), reg)
		if err != nil {
			return nil, fmt.Errorf("webhooks: %w", err)
		}
		routes := []func(*http.ServeMux){runner.Routes, disp.Routes}
		if cfg.Listen.Dashboard {
			dash, err := newDashboard(cfg, runner, st, log)
			if err != nil {
				return nil, err
			}
			routes = append(routes, dash.Routes)
		}
		plan.Routes = func(mux *http.ServeMux) {
			for _, r := range routes {
				r(mux)
			}
		}
		plan.Deliver = func(ctx context.Context) (daemon.Delivered, error) {
			p, err := disp.DeliverPass(ctx)
			return daemon.Delivered{Sent: p.Sent, Failed: p.Failed, FailedEndpoints: p.FailedEndpoints}, err
		}
		return plan, nil
	}
}

// newDashboard builds the dashboard over the runner and the store. Its
// clock is the runner's, so a test that fixes one fixes both.
func newDashboard(cfg *config.Config, runner *evaluate.Runner, st *store.Store, log *zap.Logger) (*dashboard.Handler, error) {
	var endpoints []string
	for _, w := range cfg.Webhooks {
		endpoints = append(endpoints, w.Name)
	}
	dash, err := dashboard.New(dashboard.Options{Evaluator: runner, Outbox: st, Endpoints: endpoints,
		Now: func() time.Time { return runner.Now() }, Log: log.With(zap.String("component", "dashboard"))})
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	return dash, nil
}
