#!/usr/bin/env bash
# Cluster add benchmark: time to add SIZE_MIB (default 1024) of random data with replication 3
# on a 3-peer loopback cluster, three ways in the same run:
#   cluster add   add --replication 3 (blocks streamed to every allocation; returns when all 3 pinned)
#   --local add   add --local --replication 3 (import on the receiving peer, the others fetch over
#                 bitswap): time for add to return and time until all 3 report pinned
#   3 copies      cp of the file to three places on the same disk, then sync (the raw baseline)
# Usage: scripts/bench-add.sh [SIZE_MIB]     (make build first, or set BIN)
set -euo pipefail
SIZE_MIB=${1:-${SIZE_MIB:-1024}}
BIN=${BIN:-bin/pincluster}
WORK=$(mktemp -d -t pincluster-bench-add.XXXXXX)
export CLUSTER_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CLUSTER_MONITORPINGINTERVAL=1s
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; if [ -n "${KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT INT TERM
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
cli() { "$BIN" --config "$WORK/p1" "$@"; }

for i in 1 2 3; do
  "$BIN" --config "$WORK/p$i" init --randomports >/dev/null
  sed -i 's#/ip4/0.0.0.0/tcp/#/ip4/127.0.0.1/tcp/#' "$WORK/p$i/service.json"
done
wait_id() { for _ in $(seq 1 120); do "$BIN" --config "$1" id >/dev/null 2>&1 && return 0; sleep 0.5; done; echo "peer $1 did not start; see $1.log"; exit 1; }
"$BIN" --config "$WORK/p1" daemon >"$WORK/p1.log" 2>&1 & pids+=($!)
wait_id "$WORK/p1"
ADDR=$(cli --enc json id | sed -n 's/.*"\(\/ip4\/127\.0\.0\.1\/tcp\/[0-9]*\/p2p\/[A-Za-z0-9]*\)".*/\1/p' | head -1)
for i in 2 3; do
  "$BIN" --config "$WORK/p$i" daemon --bootstrap "$ADDR" >"$WORK/p$i.log" 2>&1 & pids+=($!)
  wait_id "$WORK/p$i"
done
for _ in $(seq 1 120); do
  [ "$(cli --enc json peers ls | grep -c '"rpc_protocol_version"')" -ge 3 ] && break; sleep 0.5
done

echo "writing two files of $SIZE_MIB MiB of random data..."
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$WORK/a.bin"
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$WORK/b.bin"
sync

t0=$(now); cli add -q --replication 3 "$WORK/a.bin" >/dev/null; t1=$(now)
cluster=$(secs "$t0" "$t1")

t0=$(now); root=$(cli add -q --local --replication 3 "$WORK/b.bin" | tail -1); t1=$(now)
until [ "$(cli --enc json status "$root" | grep -o '"status": *"pinned"' | wc -l)" -ge 3 ]; do sleep 0.2; done
t2=$(now)
local_ret=$(secs "$t0" "$t1"); local_all=$(secs "$t0" "$t2")

t0=$(now); for i in 1 2 3; do cp "$WORK/a.bin" "$WORK/copy$i.bin"; done; sync; t1=$(now)
copies=$(secs "$t0" "$t1")

rate() { echo "scale=1; $SIZE_MIB / $1" | bc; }
printf '\nadd of %d MiB, replication 3, 3 peers on loopback (one machine, %s cores)\n' "$SIZE_MIB" "$(nproc)"
printf '%-44s %8s s %8s MiB/s\n' "cluster add (returns with 3 replicas pinned)" "$cluster" "$(rate "$cluster")"
printf '%-44s %8s s %8s MiB/s\n' "--local add: add returns" "$local_ret" "$(rate "$local_ret")"
printf '%-44s %8s s %8s MiB/s\n' "--local add: 3 replicas pinned" "$local_all" "$(rate "$local_all")"
printf '%-44s %8s s %8s MiB/s\n' "cp to 3 places + sync (baseline)" "$copies" "$(rate "$copies")"
