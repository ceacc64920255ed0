package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const unitFile = "../../configs/systemd/touchbase.service"

// The shipped unit keeps its contract with the daemon and stays hardened:
// systemd-analyze rates its exposure 2.0 or lower.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{
		"Type=notify\n",
		"ExecStart=/usr/local/bin/touchbase daemon --config /etc/touchbase/touchbase.yaml\n",
		"ExecReload=/bin/kill -HUP $MAINPID\n",
		"StateDirectory=touchbase\n", "RuntimeDirectory=touchbase\n",
		"WatchdogSec=", "Restart=on-failure\n", "TimeoutStopSec=15\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("%s lacks %q", unitFile, want)
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is required under CI (apt-get install systemd)")
		}
		t.Skip("\n*** SKIPPING: systemd-analyze not installed ***")
	}
	out, _ := exec.Command(analyze, "security", "--offline=yes", unitFile).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for touchbase\.service: (\d+\.\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze printed no exposure level:\n%s", out)
	}
	exposure, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security exposure: %.1f", exposure)
	if exposure > 2.0 {
		t.Errorf("exposure %.1f, want 2.0 or lower:\n%s", exposure, out)
	}
}
