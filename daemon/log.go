package daemon

// Log field keys, kept in one place so every message names things alike.
const (
	keySource     = "source"
	keyStats      = "stats"
	keyDuration   = "duration"
	keyFailures   = "consecutive_failures"
	keyRetryIn    = "retry_in"
	keyConfig     = "config"
	keyProblems   = "problems"
	keyWarnings   = "warnings"
	keyLevel      = "log_level"
	keySources    = "sources"
	keyAddr       = "addr"
	keyTimeout    = "timeout"
	keyHolder     = "holder"
	keyCluster    = "cluster"
	keyLease      = "lease"
	keyGeneration = "generation"
	keyUntil      = "until"
)
