#!/usr/bin/env bash
# post-split.sh BIN [N]: single POST /pins rate of the pincluster binary BIN with the daemon and
# its client on separate cores (taskset: daemon on DCPU, default 0; cbench on CCPU, default 1),
# 16 clients over N (100000) random CIDs; prints the rate and the CPU each side used, so the
# daemon's CPU per pin is read apart from the client's (on 2 cores they otherwise share both).
set -euo pipefail
BIN=$(realpath "$1"); N=${2:-100000}
command -v taskset >/dev/null || { echo "post-split.sh: taskset (util-linux) is needed" >&2; exit 2; }
T=$(mktemp -d)
CB=$T/cbench
(cd "$(dirname "$0")/../../shared/tools/cbench" && go build -o "$CB" .)
D=$T/peer
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$T"' EXIT
"$BIN" --config "$D" init --randomports >/dev/null
# Unfetchable CIDs stay queued: raise the queue bound so every pin is accepted.
jq '.pin_tracker.max_pin_queue_size = 20000000' "$D/service.json" > "$D/s.json" && mv "$D/s.json" "$D/service.json"
taskset -c "${DCPU:-0}" "$BIN" --config "$D" daemon > "$T/log" 2>&1 &
PID=$!
API=$(jq -r .api.restapi.listen_multiaddress "$D/service.json" | awk -F/ '{print "http://"$3":"$5}')
for _ in $(seq 100); do curl -sf "$API/id" >/dev/null && break; sleep 0.2; done
"$CB" gen -n "$N" > "$T/cids.txt"
tick=$(getconf CLK_TCK)
d0=$(awk '{print $14+$15}' "/proc/$PID/stat")
s0=$(date +%s.%N)
taskset -c "${CCPU:-1}" "$CB" pin -url "$API" -f "$T/cids.txt" -c 16 > "$T/out"
s1=$(date +%s.%N)
d1=$(awk '{print $14+$15}' "/proc/$PID/stat")
rate=$(jq -r .pins_per_s "$T/out")
awk -v r="$rate" -v d="$((d1 - d0))" -v tk="$tick" -v w="$(echo "$s1 - $s0" | bc)" -v n="$N" \
  'BEGIN { printf "pins/s %.0f; daemon %.2f CPU-s in %.2f s (%.0f%% of its core, %.0f us per pin)\n", r, d/tk, w, 100*d/tk/w, 1e6*d/tk/n }'
