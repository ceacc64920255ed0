package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// childResult is what a first-sync child process reports on stdout.
type childResult struct {
	Nanos int64            // duration of Source.Sync
	Stats map[string]int64 // its counters
	HWMKB int64            // VmHWM after the sync: the process's peak RSS
}

// childFirstSync runs a first sync into a new store under dir in a child
// process (this program with -first-sync-child), so that its peak RSS is
// the sync's alone: the parent's seeding and REPORT buffers do not count.
// The child runs with the default GC settings, as the daemon does.
func (b *bench) childFirstSync(dir string) (childResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return childResult{}, fmt.Errorf("find own binary: %w", err)
	}
	cmd := exec.Command(exe, "-url", b.base, "-user", b.user, "-pass", b.pass, "-first-sync-child", dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return childResult{}, fmt.Errorf("first-sync child: %w", err)
	}
	var res childResult
	if err := json.Unmarshal(out, &res); err != nil {
		return childResult{}, fmt.Errorf("first-sync child output %q: %w", out, err)
	}
	return res, nil
}

// firstSyncChild is the child's side: one first sync, the result as JSON.
func (b *bench) firstSyncChild(dir string) error {
	ctx := context.Background()
	st, src, err := b.source(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	stats, err := src.Sync(ctx)
	if err != nil {
		return err
	}
	res := childResult{Nanos: int64(time.Since(start)), Stats: stats}
	if res.HWMKB, err = peakRSS(); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// peakRSS reads VmHWM (kB) from /proc/self/status.
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("read peak RSS: no VmHWM in /proc/self/status")
}
