package main

import (
	"io"
	"os"

	"github.com/coreos/go-systemd/v22/journal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger returns a logger writing to w and its level, which the daemon
// sets from log_level (and changes on reload). Lines are JSON, for journald
// and log shippers; console (stderr is a terminal) makes them zap's
// human-readable console lines instead, for a person running a command.
// Under journald (stderr is the journal stream) lines carry no time:
// journald stamps them.
func newLogger(w io.Writer, journald, console bool) (*zap.Logger, zap.AtomicLevel) {
	level := zap.NewAtomicLevelAt(zapcore.InfoLevel)
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "ts"
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	if journald {
		enc.TimeKey = zapcore.OmitKey
	}
	encoder := zapcore.NewJSONEncoder(enc)
	if console && !journald {
		enc.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05")
		enc.EncodeLevel = zapcore.CapitalLevelEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	}
	// Locked: webhook deliveries log from several goroutines, and w (a
	// test's buffer) need not be safe for concurrent writes.
	core := zapcore.NewCore(encoder, zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core), level
}

// stderrIsJournal reports whether stderr is connected to journald: systemd
// sets JOURNAL_STREAM to the stream's device and inode, which only matches
// stderr while it was not redirected.
func stderrIsJournal() bool {
	ok, err := journal.StderrIsJournalStream()
	return err == nil && ok
}

// isTerminal reports whether w is a terminal (a character device; no
// golang.org/x/term dependency for one check). /dev/null is one too, which
// does no harm: nobody reads what goes there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
