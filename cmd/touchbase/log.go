package main

import (
	"io"

	"github.com/coreos/go-systemd/v22/journal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger returns a JSON logger writing to w and its level, which the
// daemon sets from log_level (and changes on reload). Under journald
// (stderr is the journal stream) lines carry no time: journald stamps them.
func newLogger(w io.Writer, journald bool) (*zap.Logger, zap.AtomicLevel) {
	level := zap.NewAtomicLevelAt(zapcore.InfoLevel)
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "ts"
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	if journald {
		enc.TimeKey = zapcore.OmitKey
	}
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(w), level)
	return zap.New(core), level
}

// stderrIsJournal reports whether stderr is connected to journald: systemd
// sets JOURNAL_STREAM to the stream's device and inode, which only matches
// stderr while it was not redirected.
func stderrIsJournal() bool {
	ok, err := journal.StderrIsJournalStream()
	return err == nil && ok
}
