package main

import (
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/store"
)

// buildPlan wires the components for cfg (daemon.Options.Build). The IMAP
// and CalDAV sources, the evaluation runner and the webhook dispatcher are
// added here as they land; until then the plan runs nothing, and the
// daemon still serves its API and status.
func buildPlan(cfg *config.Config, st *store.Store, log *zap.Logger) (*daemon.Plan, error) {
	return &daemon.Plan{}, nil
}
