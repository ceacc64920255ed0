#!/usr/bin/env bash
# IMAP sync benchmark (issue 3) on the test bed's Dovecot, user carol:
#
#   bench/imap/run.sh [--messages 100000] [--rounds 3] [--reseed] [--store sqlite|postgres]
#
# Seeds carol's INBOX with the test bed's generator when it does not hold
# --messages messages (or with --reseed), then runs each measurement as its
# own process (so each peak RSS is its own):
#   1. cold: the first bare FETCH and the first full sync after seeding
#      (Dovecot builds its index and header cache);
#   2. --rounds alternating rounds of two bare go-imap loops and the full
#      first-sync path (fetch + classify + store into a fresh store:
#      SQLite, or with --store postgres a new database on the server
#      $TOUCHBASE_BENCH_PG names, by default internal/pgtest's cluster),
#      and the median ratios (target >= 0.8). The bare loops:
#      `UID FETCH 1:* (UID INTERNALDATE BODY.PEEK[HEADER.FIELDS (...)])`,
#      exactly what a sync fetches ("headers", the like-for-like limit),
#      and `UID FETCH 1:* (UID ENVELOPE INTERNALDATE)` ("envelope", the
#      reference of issue 3). ENVELOPE plus the header fields (-items both)
#      is slower than either and not used as a limit;
#   3. no-change re-sync of that store: commands per pass, time (target:
#      a handful, < 50 ms);
#   4. push latency: APPEND to stored interaction through IDLE.
# Not part of `go test ./...`.
set -euo pipefail

messages=100000 rounds=3 reseed= backend=sqlite
while [ $# -gt 0 ]; do
	case $1 in
	--messages) messages=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--reseed) reseed=1; shift ;;
	--store) backend=$2; shift 2 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done

repo=$(cd "$(dirname "$0")/../.." && pwd)
testbed=${TOUCHBASE_TESTBED:-$repo/../shared/testbed}
user=carol@example.test pass=carol-pass
work=$(mktemp -d)
trap '[ -x "$work/imapbench" ] && "$work/imapbench" -mode remove -store "$backend" -data "$work/store"; rm -rf "$work"' EXIT

# The same users as internal/testbed, so `up` does not drop anyone's account.
export TESTBED_USERS="${TESTBED_USERS:-$(sed -n 's/^const Users = "\(.*\)"$/\1/p' "$repo/internal/testbed/testbed.go")}"
# up may die of SIGPIPE (exit 141) while printing: try again.
for try in 1 2 3 4 5; do
	eval "$("$testbed/up" | grep '^TESTBED_[A-Z_]*=' | sed 's/^/export /')" || true
	[ -n "${TESTBED_IMAP_ADDR:-}" ] && break
done
addr=$TESTBED_IMAP_ADDR

inbox=$TESTBED_DIR/mail/$user/Maildir/cur
have=$(find "$inbox" -type f 2>/dev/null | wc -l || true)
if [ -n "$reseed" ] || [ "$have" -ne "$messages" ]; then
	echo "== seeding $messages messages into $user (had $have)"
	start=$(date +%s.%N)
	"$testbed/seed" --user "$user" --reset --messages "$messages" --events 0 --folder INBOX \
		--customers 200 --days 1095 --seed 42
	echo "seeded in $(echo "$(date +%s.%N) - $start" | bc) s"
	cold=1
fi

echo "== building"
go build -C "$repo" -o "$work/imapbench" ./bench/imap
run() { "$work/imapbench" -addr "$addr" -user "$user" -pass "$pass" -store "$backend" "$@"; }

if [ -n "${cold:-}" ]; then
	echo "== cold (first access after seeding)"
	run -mode bare -items headers
	run -mode sync -data "$work/store"
fi

echo "== $rounds rounds: bare loops vs full path"
for i in $(seq "$rounds"); do
	run -mode bare -items headers | tee -a "$work/bare.txt"
	run -mode bare -items envelope | tee -a "$work/envelope.txt"
	run -mode sync -data "$work/store" | tee -a "$work/sync.txt"
done

median() { # median of field $1 (key=value) in file $2
	sed -n "s/.* $1=\([0-9.]*\).*/\1/p" "$2" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
bare=$(median rate "$work/bare.txt")
envelope=$(median rate "$work/envelope.txt")
full=$(median rate "$work/sync.txt")
rss=$(sed -n 's/.* peak_rss_mb=\([0-9.]*\).*/\1/p' "$work/sync.txt" | sort -n | tail -1)
echo "== re-sync, no change"
run -mode resync -data "$work/store" -passes 20
echo "== push"
run -mode idle -data "$work/store"

echo
echo "== figures ($messages messages, $(nproc) cores, store $backend)"
echo "bare loop (headers):  $bare msg/s (median)"
echo "bare loop (envelope): $envelope msg/s (median)"
echo "full first sync:      $full msg/s (median)"
echo "ratio to headers:     $(echo "scale=2; $full / $bare" | bc) (target >= 0.8)"
echo "ratio to envelope:    $(echo "scale=2; $full / $envelope" | bc)"
echo "peak RSS (sync):      $rss MB (target < 150)"
# CPU-seconds of the whole machine per run (medians): when the bare loop
# already keeps every core busy, a sync that does more work per mail cannot
# beat bare_cpu / sync_cpu, however well it overlaps.
bare_cpu=$(median machine_cpu_s "$work/bare.txt")
sync_cpu=$(median machine_cpu_s "$work/sync.txt")
own_cpu=$(median own_cpu_s "$work/sync.txt")
echo "machine CPU-s:        bare $bare_cpu, sync $sync_cpu (of which the sync process $own_cpu); $(nproc) cores"
echo "CPU-bound ceiling:    $(echo "scale=2; $bare_cpu / $sync_cpu" | bc) (the ratio reachable at this CPU cost per mail)"
