#!/usr/bin/env bash
# CalDAV sync benchmark against the test bed's Radicale (issue 4).
# Starts the test bed (idempotent), then runs the Go program, which
# rewrites alice@example.test's calendar to a 5,000-event set the first
# time (about a minute of PUTs) and prints the figures. Extra arguments go
# to the program: bench/caldav/run.sh -events 5000 -recurring 0.1 -runs 3
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
testbed="${TOUCHBASE_TESTBED:-$repo/../shared/testbed}"
# The same users as internal/testbed, so `up` does not drop anyone's account.
export TESTBED_USERS="${TESTBED_USERS:-alice@example.test:alice-pass,bob@example.test:bob-pass,carol@example.test:carol-pass,dave@example.test:dave-pass}"
url="$("$testbed/up" | sed -n 's/^TESTBED_CALDAV_URL=//p')"
cd "$repo"
TESTBED_CALDAV_URL="$url" exec go run ./bench/caldav "$@"
