#!/usr/bin/env bash
# CalDAV sync benchmark against the test bed's Radicale (issues 4, 11).
# Starts the test bed (idempotent), then runs the Go program, which
# rewrites bench1@example.test's calendar with a deterministic 5,000-event
# set (10% weekly series) and prints the figures. Extra arguments go to the
# program: bench/caldav/run.sh -events 5000 -recurring 0.1 -runs 3
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
testbed="${TOUCHBASE_TESTBED:-$repo/../shared/testbed}"
# The same users as internal/testbed, so `up` does not drop anyone's account.
export TESTBED_USERS="${TESTBED_USERS:-$(sed -n 's/^const Users = "\(.*\)"$/\1/p' "$repo/internal/testbed/testbed.go")}"
env="$("$testbed/up")"
export TESTBED_CALDAV_URL="$(sed -n 's/^TESTBED_CALDAV_URL=//p' <<<"$env")"
export TESTBED_DIR="$(sed -n 's/^TESTBED_DIR=//p' <<<"$env")"
cd "$repo"
exec go run ./bench/caldav "$@"
