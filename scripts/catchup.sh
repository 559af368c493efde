#!/usr/bin/env bash
# catchup.sh BIN [N]: how long a fresh peer takes to catch up with a peer holding N (1000000)
# pins. Peer 1 ingests N random CIDs with `pin add --from` (unfetchable: they stay queued, so
# the tracker queue is raised to 20M); then peer 2 starts with --bootstrap, and the script
# times from its start until its anti-entropy pull ends ("pulled missing ops" in its log),
# then checks it lists N pins. Prints the ingest rate, the catch-up time, CPU seconds of both
# peers and peer 2's RSS. Needs jq and ../shared/tools/cbench; the folder is removed at exit
# (KEEP=1 keeps it and the daemons).
set -euo pipefail
BIN=$(realpath "$1"); N=${2:-1000000}
W=$(mktemp -d)
CB="$W/cbench"
(cd "$(dirname "$0")/../../shared/tools/cbench" && go build -o "$CB" .)
P1=; P2=
cleanup() { [ -n "${KEEP:-}" ] && { echo "kept $W (peers $P1 $P2)"; return; }; kill $P1 $P2 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
export CLUSTER_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
for i in 1 2; do
  "$BIN" --config "$W/p$i" init --randomports >/dev/null
  jq '.pin_tracker.max_pin_queue_size = 20000000' "$W/p$i/service.json" > "$W/s.json" && mv "$W/s.json" "$W/p$i/service.json"
done
api() { jq -r .api.restapi.listen_multiaddress "$W/p$1/service.json" | awk -F/ '{print "http://"$3":"$5}'; }
"$BIN" --config "$W/p1" daemon > "$W/p1.log" 2>&1 & P1=$!
for _ in $(seq 100); do curl -sf "$(api 1)/id" >/dev/null && break; sleep 0.2; done
ADDR=$("$BIN" --config "$W/p1" --enc json id | jq -r '.addresses[] | select(test("127.0.0.1"))' | head -1)
"$CB" gen -n "$N" > "$W/cids.txt"
t0=$(date +%s.%N)
"$BIN" --config "$W/p1" --enc json pin add --from "$W/cids.txt" > "$W/add.json"
t1=$(date +%s.%N)
echo "peer 1 ingested $N pins at $(echo "$N / ($t1 - $t0)" | bc) pins/s"
t0=$(date +%s.%N)
"$BIN" --config "$W/p2" daemon --bootstrap "$ADDR" > "$W/p2.log" 2>&1 & P2=$!
until grep -q "pulled missing ops" "$W/p2.log"; do
  kill -0 $P2 || { echo "peer 2 exited: $(tail -3 "$W/p2.log")"; exit 1; }
  sleep 1
done
t1=$(date +%s.%N)
echo "peer 2 caught up in $(echo "$t1 - $t0" | bc) s; CPU s: peer 1 $(ps -o times= -p $P1), peer 2 $(ps -o times= -p $P2); peer 2 RSS $(( $(ps -o rss= -p $P2) / 1024 )) MB"
got=$("$CB" count -url "$(api 2)" | jq .count)
[ "$got" = "$N" ] || { echo "peer 2 lists $got pins, want $N"; exit 1; }
echo "peer 2 lists all $N pins"
