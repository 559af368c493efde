#!/usr/bin/env bash
# ab-post.sh BIN [N]: single POST /pins rate of the pincluster binary BIN on a fresh daemon,
# 16 clients over N (60000) random CIDs (../shared/tools/cbench), printed as pins/s. Run two
# binaries in alternation in the same minute to compare them (A/B): the rate moves about ±5%
# between runs on a quiet 2-core machine, more under load.
set -euo pipefail
BIN=$(realpath "$1"); N=${2:-60000}
CB=$(mktemp -d)/cbench
(cd "$(dirname "$0")/../../shared/tools/cbench" && go build -o "$CB" .)
D=$(mktemp -d)
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$D" "$(dirname "$CB")"' EXIT
"$BIN" --config "$D" init --randomports >/dev/null
# Unfetchable CIDs stay queued: raise the queue bound so every pin is accepted.
jq '.pin_tracker.max_pin_queue_size = 20000000' "$D/service.json" > "$D/s.json" && mv "$D/s.json" "$D/service.json"
"$BIN" --config "$D" daemon > "$D/log" 2>&1 &
PID=$!
API=$(jq -r .api.restapi.listen_multiaddress "$D/service.json" | awk -F/ '{print "http://"$3":"$5}')
for _ in $(seq 100); do curl -sf "$API/id" >/dev/null && break; sleep 0.2; done
"$CB" gen -n "$N" > "$D/cids.txt"
"$CB" pin -url "$API" -f "$D/cids.txt" -c 16 | jq -r .pins_per_s
