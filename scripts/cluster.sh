#!/usr/bin/env bash
# Starts three pincluster peers on loopback in a temp dir (make cluster). Ctrl-C stops them.
set -euo pipefail
BIN=${BIN:-bin/pincluster}
WORK=${WORK:-$(mktemp -d -t pincluster-cluster.XXXXXX)}
export CLUSTER_SECRET=${CLUSTER_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
for i in 1 2 3; do
  "$BIN" --config "$WORK/p$i" init --randomports >/dev/null
  sed -i 's#/ip4/0.0.0.0/tcp/#/ip4/127.0.0.1/tcp/#' "$WORK/p$i/service.json"
done
wait_id() { for _ in $(seq 1 120); do "$BIN" --config "$1" id >/dev/null 2>&1 && return 0; sleep 0.5; done; echo "peer $1 did not start; see $1.log"; exit 1; }
"$BIN" --config "$WORK/p1" daemon >"$WORK/p1.log" 2>&1 & pids+=($!)
wait_id "$WORK/p1"
ADDR=$("$BIN" --config "$WORK/p1" --enc json id | sed -n 's/.*"\(\/ip4\/127\.0\.0\.1\/tcp\/[0-9]*\/p2p\/[A-Za-z0-9]*\)".*/\1/p' | head -1)
for i in 2 3; do
  "$BIN" --config "$WORK/p$i" daemon --bootstrap "$ADDR" >"$WORK/p$i.log" 2>&1 & pids+=($!)
  wait_id "$WORK/p$i"
done
echo "three peers running in $WORK (logs: $WORK/p*.log), bootstrap address $ADDR"
for i in 1 2 3; do
  echo "  peer $i: $BIN --config $WORK/p$i <command>      (REST API $(cat "$WORK/p$i/api"))"
done
echo "try: $BIN --config $WORK/p1 peers ls ; Ctrl-C stops the cluster"
wait
