#!/usr/bin/env bash
# A pincluster cluster across Linux network namespaces, with latency, jitter and loss between
# the hosts (make netns-cluster; docs/netns.md says why it is built this way). Root only.
#
#   scripts/netns-cluster.sh [run] [N] [DURATION]   up N peers (default 3), wait DURATION (or Ctrl-C), down
#   scripts/netns-cluster.sh up [N]                 up and return; the peers keep running
#   scripts/netns-cluster.sh down                   stop everything with this PREFIX, also leftovers of a crash
#   scripts/netns-cluster.sh selftest               3 peers with impairment: pin, all converge, down, nothing left
#   scripts/netns-cluster.sh net [N]                the network only (no daemons), and $WORK/pincluster, a
#                                                   wrapper that runs bin/pincluster in the namespace of
#                                                   the peer whose --config dir is .../pI (for chaos and bench)
#   scripts/netns-cluster.sh bench                  convergence, catch-up and chaos figures: routed, through the
#                                                   relay unimpaired, and with LINK (BENCH_PINS, BENCH_CATCHUP, CHAOS)
#   scripts/netns-cluster.sh deploy-check           the commands of docs/deploy.md, one host per namespace
#
# Environment: LINK (default "50ms+-10ms,1%": DELAY[+-JITTER][,LOSS%] each way; "0" = none),
# IMPAIR (auto|netem|relay|none; auto = netem where the kernel has it, else the relay), PREFIX
# (default pcn; every name made starts with it), WORK (default /tmp/pincluster-netns-$PREFIX),
# BIN (bin/pincluster), SEED (the relay's, default 1), KEEP=1 keeps WORK after down.
#
# Topology: a router namespace $PREFIX-r, and per peer I a namespace $PREFIX-pI with one veth
# to the router (peer 198.18.0.I, router end 198.18.1.I, point to point) carrying all
# peer-to-peer traffic, and one veth to the root namespace (peer 198.19.0.I, root end
# 198.19.1.I) for management only: the REST API listens there, so tools in the root namespace
# reach every peer; the peers have no route to each other's management address. In the router
# either netem impairs each peer's egress and the router forwards, or (no netem) nothing is
# forwarded: policy routing delivers every packet from a peer link locally, and bin/netimpair
# -transparent relays each TCP connection to the address it was meant for, from the client's
# own address, delaying and losing as LINK says.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${PREFIX:-pcn}
WORK=${WORK:-/tmp/pincluster-netns-$PREFIX}
BIN=${BIN:-bin/pincluster}
IMPAIR_BIN=${IMPAIR_BIN:-bin/netimpair}
LINK=${LINK-50ms+-10ms,1%}
IMPAIR=${IMPAIR:-auto}
SEED=${SEED:-1}
CLUSTER_PORT=9096
REST_PORT=9094
RT=$PREFIX-r

say() { echo "netns: $*"; }
die() { echo "netns: $*" >&2; exit 1; }

# available prints nothing and succeeds when namespaces can be made here; otherwise it prints
# the reason. It makes and removes a namespace and a veth pair, the two things the script needs.
available() {
  [ "$(uname -s)" = Linux ] || { echo "not Linux"; return 1; }
  [ "$(id -u)" = 0 ] || { echo "not root"; return 1; }
  command -v ip >/dev/null || { echo "no ip command (iproute2)"; return 1; }
  local ns=$PREFIX-probe out
  ip netns del "$ns" 2>/dev/null || true
  if ! out=$(ip netns add "$ns" 2>&1); then echo "ip netns add: $out"; return 1; fi
  if ! out=$(ip link add "$PREFIX"-pa type veth peer name "$PREFIX"-pb netns "$ns" 2>&1); then
    ip netns del "$ns"; echo "veth: $out"; return 1
  fi
  if ! out=$(ip netns exec "$ns" ip link set lo up 2>&1); then
    ip link del "$PREFIX"-pa 2>/dev/null || true; ip netns del "$ns"; echo "ip netns exec: $out"; return 1
  fi
  # Without netem the relay needs policy routing (CONFIG_IP_MULTIPLE_TABLES) in the router.
  if ! out=$(ip -n "$ns" rule add iif "$PREFIX"-pb lookup 100 2>&1 && ip -n "$ns" route add local 0.0.0.0/0 dev lo table 100 2>&1); then
    ip link del "$PREFIX"-pa 2>/dev/null || true; ip netns del "$ns"; echo "policy routing: $out"; return 1
  fi
  ip link del "$PREFIX"-pa 2>/dev/null || true
  ip netns del "$ns"
}

# has_netem says whether the kernel has the netem qdisc (tried on a namespace's loopback).
has_netem() {
  local ns=$PREFIX-probe ok=1
  ip netns add "$ns" 2>/dev/null || return 1
  ip netns exec "$ns" tc qdisc add dev lo root netem delay 1ms >/dev/null 2>&1 && ok=0
  ip netns del "$ns"
  return $ok
}

# netem_args turns LINK into tc netem's arguments.
netem_args() {
  local spec=${LINK%%,*} loss="" delay jitter=""
  [ "$spec" != "$LINK" ] && loss=${LINK#*,}
  delay=${spec%%+-*}
  [ "$delay" != "$spec" ] && jitter=${spec#*+-}
  [ "$delay" = 0 ] && delay=0ms
  echo "delay $delay${jitter:+ $jitter}${loss:+ loss $loss}"
}

# cleanup removes everything named with PREFIX: processes in its namespaces (only those: every
# process the script starts runs in one, and a pid file of an old run could name a process that
# is no longer ours), the namespaces (their veths go with them), root-side links, and WORK
# unless KEEP.
cleanup() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  done
  # The daemons stop on SIGTERM within seconds (Badger closes); then SIGKILL what is left.
  for _ in $(seq 1 50); do
    local left=0
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
      [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && left=1
    done
    [ $left = 0 ] && break
    sleep 0.2
  done
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$PREFIX" || true); do
    ip link del "$l" 2>/dev/null || true
  done
  if [ "${KEEP:-0}" != 1 ] && [ -d "$WORK" ]; then rm -rf "$WORK"; fi
}

# arm removes everything when the script exits from here on, however it exits (a signal exits
# with 130, which runs the EXIT trap); disarm keeps what was made.
arm() { trap 'disarm; cleanup' EXIT; trap 'exit 130' INT TERM; }
disarm() { trap - EXIT INT TERM; }

# leftovers prints what cleanup should have removed and did not.
leftovers() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" | sed 's/^/namespace /' || true
  ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$PREFIX" | sed 's/^/link /' || true
  if [ -f "$WORK/pids.all" ]; then
    while read -r pid; do kill -0 "$pid" 2>/dev/null && echo "process $pid"; done <"$WORK/pids.all"
  fi
  return 0
}

# net N makes the router and N peer namespaces and starts the impairment.
net() {
  local n=$1 i mode=none
  [ "$n" -ge 1 ] && [ "$n" -le 250 ] || die "N must be 1..250, got $n"
  if [ "$LINK" != 0 ] && [ "$IMPAIR" != none ]; then
    case $IMPAIR in
      auto) if has_netem; then mode=netem; else mode=relay; fi ;;
      netem|relay) mode=$IMPAIR ;;
      *) die "IMPAIR must be auto, netem, relay or none, got $IMPAIR" ;;
    esac
  elif [ "$IMPAIR" = relay ]; then
    mode=relay # LINK=0 through the relay: the relay's own cost
  fi
  mkdir -p "$WORK"
  ip netns add "$RT"
  ip -n "$RT" link set lo up
  for i in $(seq 1 "$n"); do
    local ns=$PREFIX-p$i
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # the data link: peer 198.18.0.I <-> router 198.18.1.I
    ip link add "$PREFIX-d$i" netns "$RT" type veth peer name eth0 netns "$ns"
    ip -n "$ns" addr add "198.18.0.$i/32" peer "198.18.1.$i/32" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add 198.18.0.0/16 via "198.18.1.$i" src "198.18.0.$i"
    ip -n "$RT" addr add "198.18.1.$i/32" peer "198.18.0.$i/32" dev "$PREFIX-d$i"
    ip -n "$RT" link set "$PREFIX-d$i" up
    # the management link: peer 198.19.0.I <-> root namespace 198.19.1.I
    ip link add "$PREFIX-m$i" type veth peer name mgmt netns "$ns"
    ip -n "$ns" addr add "198.19.0.$i/32" peer "198.19.1.$i/32" dev mgmt
    ip -n "$ns" link set mgmt up
    ip addr add "198.19.1.$i/32" peer "198.19.0.$i/32" dev "$PREFIX-m$i"
    ip link set "$PREFIX-m$i" up
  done
  case $mode in
    netem)
      ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1
      for i in $(seq 1 "$n"); do
        # shellcheck disable=SC2046
        ip netns exec "$PREFIX-p$i" tc qdisc add dev eth0 root netem $(netem_args)
      done ;;
    relay)
      ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=0
      for i in $(seq 1 "$n"); do ip -n "$RT" rule add iif "$PREFIX-d$i" lookup 100; done
      ip -n "$RT" route add local 0.0.0.0/0 dev lo table 100
      ip netns exec "$RT" "$IMPAIR_BIN" -link "$LINK" -seed "$SEED" -tcp "0.0.0.0:$CLUSTER_PORT" -transparent \
        >"$WORK/netimpair.log" 2>&1 &
      echo $! >>"$WORK/pids"; echo $! >>"$WORK/pids.all"
      for _ in $(seq 1 50); do grep -q '^netimpair: tcp' "$WORK/netimpair.log" && break; sleep 0.1; done
      grep -q '^netimpair: tcp' "$WORK/netimpair.log" || die "netimpair did not start: $(cat "$WORK/netimpair.log")" ;;
    none)
      ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1 ;;
  esac
  echo "$mode" >"$WORK/mode"
  echo "$LINK" >"$WORK/link"
  write_wrapper
  say "$n peer namespaces $PREFIX-p1..$PREFIX-p$n, router $RT; between peers: $(describe)"
}

# label is describe in a few words, for the bench table.
label() {
  local LINK
  LINK=$(cat "$WORK/link")
  case $(cat "$WORK/mode") in
    netem) echo "netem $LINK" ;;
    relay) if [ "$LINK" = 0 ]; then echo "netimpair, no impairment (its own cost)"; else echo "netimpair $LINK"; fi ;;
    none) echo "routed, no impairment" ;;
  esac
}

# describe says what is between the peers of the network made last.
describe() {
  local LINK
  LINK=$(cat "$WORK/link")
  case $(cat "$WORK/mode") in
    netem) echo "tc netem $(netem_args) on each peer's egress" ;;
    relay) echo "bin/netimpair -transparent in $RT, each direction $LINK (log $WORK/netimpair.log)" ;;
    none) echo "plain forwarding, no impairment" ;;
  esac
}

# write_wrapper writes $WORK/pincluster: bin/pincluster run in the namespace of the peer whose
# --config dir is named pI. After `init` it moves the cluster listener to 198.18.0.I:9096 and
# the REST API to 198.19.0.I:9094 (the relay listens on one port; the root namespace reaches
# the API). Tools that start daemons themselves (chaos, bench) take it as their -bin.
write_wrapper() {
  local bin
  bin=$(readlink -f "$BIN")
  cat >"$WORK/pincluster" <<EOF
#!/usr/bin/env bash
set -euo pipefail
dir="" prev=""
for a in "\$@"; do [ "\$prev" = --config ] && dir=\$a; prev=\$a; done
i=\$(basename "\${dir:-none}" | sed -n 's/^p\([0-9][0-9]*\)\$/\1/p')
[ -n "\$i" ] || exec "$bin" "\$@"
ip netns list | grep -q "^$PREFIX-p\$i\\b" || { echo "no namespace $PREFIX-p\$i for \$dir (scripts/netns-cluster.sh net N)" >&2; exit 2; }
case " \$* " in
  *" init "*)
    out=\$(ip netns exec "$PREFIX-p\$i" "$bin" "\$@") || { echo "\$out"; exit 1; }
    rest=\$(echo "\$out" | sed -n 's#^ *REST API: *\(/ip4/[^ ]*\).*#\1#p' | head -1)
    sed -i -e "s#\"/ip4/0.0.0.0/tcp/[0-9]*\"#\"/ip4/198.18.0.\$i/tcp/$CLUSTER_PORT\"#" \\
           -e "s#\"\$rest\"#\"/ip4/198.19.0.\$i/tcp/$REST_PORT\"#" "\$dir/service.json"
    echo "\$out" | sed -e "s#/ip4/0.0.0.0/tcp/[0-9]*#/ip4/198.18.0.\$i/tcp/$CLUSTER_PORT#" -e "s#\$rest#/ip4/198.19.0.\$i/tcp/$REST_PORT#" ;;
  *) exec ip netns exec "$PREFIX-p\$i" "$bin" "\$@" ;;
esac
EOF
  chmod +x "$WORK/pincluster"
}

# wait_api waits until peer I's REST API answers.
wait_api() {
  local i=$1
  for _ in $(seq 1 240); do
    "$BIN" --config "$WORK/p$i" id >/dev/null 2>&1 && return 0
    kill -0 "$(sed -n "${i}p" "$WORK/daemons")" 2>/dev/null || { tail -20 "$WORK/p$i.log" >&2; die "peer $i exited"; }
    sleep 0.25
  done
  tail -20 "$WORK/p$i.log" >&2; die "peer $i did not answer in 60 s"
}

# up N: the network and N daemons, peer 1 first, the others bootstrapped to it.
up() {
  local n=$1 i boot
  net "$n"
  export CLUSTER_SECRET=${CLUSTER_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
  : >"$WORK/daemons"
  for i in $(seq 1 "$n"); do
    "$WORK/pincluster" --config "$WORK/p$i" init >/dev/null || die "peer $i: init failed (BIN=$BIN)"
  done
  boot=/ip4/198.18.0.1/tcp/$CLUSTER_PORT/p2p/$(sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' "$WORK/p1/identity.json")
  for i in $(seq 1 "$n"); do
    local args=()
    [ "$i" -gt 1 ] && args=(--bootstrap "$boot")
    "$WORK/pincluster" --config "$WORK/p$i" daemon "${args[@]}" >"$WORK/p$i.log" 2>&1 &
    echo $! >>"$WORK/daemons"; echo $! >>"$WORK/pids"; echo $! >>"$WORK/pids.all"
    wait_api "$i"
  done
  echo "$boot" >"$WORK/bootstrap"
  say "$n peers up in $WORK (logs p*.log), bootstrap $boot"
  for i in $(seq 1 "$n"); do
    echo "  peer $i: $BIN --config $WORK/p$i <command>   (REST API http://198.19.0.$i:$REST_PORT; shell: ip netns exec $PREFIX-p$i bash)"
  done
}

# peers_seen I prints how many peers peer I lists that see every other peer (N-1 others).
peers_seen() { "$BIN" --config "$WORK/p$1" peers ls 2>/dev/null | grep -c "Sees $(($2 - 1)) other peers" || true; }

# allocations I prints how many pins peer I has in its pinset (one JSON object per line).
allocations() { "$BIN" --config "$WORK/p$1" pin ls --enc json 2>/dev/null | grep -c . || true; }

# wait_until SECONDS CMD...: run CMD every 0.5 s until it succeeds; fail after SECONDS.
wait_until() {
  local t=$1; shift
  for _ in $(seq 1 $((t * 2))); do "$@" && return 0; sleep 0.5; done
  return 1
}

all_see() { local i; for i in $(seq 1 "$1"); do [ "$(peers_seen "$i" "$1")" -ge "$1" ] || return 1; done; }
all_have() { local i; for i in $(seq 1 "$1"); do [ "$(allocations "$i")" -ge "$2" ] || return 1; done; }

selftest() {
  local reason n=3 pins=20 start elapsed left i
  if ! reason=$(available); then say "not available here ($reason); selftest skipped"; return 0; fi
  [ -x "$BIN" ] && [ -x "$IMPAIR_BIN" ] || die "build first: make build (and go build -o $IMPAIR_BIN ./cmd/netimpair)"
  cleanup
  arm
  KEEP=0 up "$n"
  say "selftest: $(describe)"
  wait_until 60 all_see "$n" || die "selftest: the peers did not all see each other in 60 s"
  for i in $(seq 1 "$pins"); do
    "$BIN" --config "$WORK/p1" pin add "$(identity_cid "$i")" >/dev/null || die "selftest: pin add failed"
  done
  start=$(date +%s%N)
  wait_until 90 all_have "$n" "$pins" || die "selftest: the $pins pins did not reach all $n peers in 90 s"
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  say "selftest: $pins pins on all $n peers ${elapsed} ms after the last ack"
  [ -f "$WORK/netimpair.log" ] && { kill -USR1 "$(head -1 "$WORK/pids")" 2>/dev/null || true; }
  cp "$WORK/pids.all" /tmp/"$PREFIX"-selftest-pids
  disarm
  cleanup
  mkdir -p "$WORK"; mv /tmp/"$PREFIX"-selftest-pids "$WORK/pids.all"
  left=$(leftovers); rm -rf "$WORK"
  [ -z "$left" ] || die "selftest: left behind after down: $left"
  say "selftest: passed (up $n peers, $pins pins converged, down, no namespaces, links or processes left)"
}

# identity_cid I is a CIDv1 (raw, identity multihash) of the bytes "netns-I": every IPFS node
# has its block, so pinning completes without fetching.
identity_cid() {
  local data="netns-$1" hex
  hex=$(printf '%s' "$data" | od -An -tx1 | tr -d ' \n')
  hex=$(printf '015500%02x%s' "${#data}" "$hex" | sed 's/../\\x&/g')
  # shellcheck disable=SC2059
  printf "$hex" | base32 -w0 | tr -d '=' | tr 'A-Z' 'a-z' | sed 's/^/b/'
}

# bench measures, with no impairment and then with LINK, through the existing tools run with the
# wrapper as -bin: bench -suite cluster (3 peers: ingest, convergence p50/p99 to the other two,
# catch-up of a fresh fourth peer) and a short seeded chaos run (5 peers). Raw outputs go to
# RESULTS; the table sums them up. Sizes: BENCH_PINS (2000), BENCH_CATCHUP (5000), CHAOS (60s).
bench() {
  local reason results=${RESULTS:-/tmp/pincluster-netns-results} link tag rows=() f
  if ! reason=$(available); then die "not available here ($reason)"; fi
  [ -x "$BIN" ] && [ -x "$IMPAIR_BIN" ] || die "build first: make build netimpair"
  mkdir -p "$results"
  go build -o "$results/bench" ./bench
  go build -o "$results/chaos" ./chaos
  arm
  for run in none:0 relay:0 "$IMPAIR:$LINK"; do
    link=${run#*:} tag=$(run_tag "$run")
    cleanup
    IMPAIR=${run%%:*} LINK=$link net 5
    say "bench: $(label)"
    "$results/bench" -suite cluster -bin "$WORK/pincluster" -cluster-pins "${BENCH_PINS:-2000}" -sample 10 \
      -catchup "${BENCH_CATCHUP:-5000}" -cluster-wait 3m >"$results/bench-$tag.txt" 2>&1 || say "bench failed: see $results/bench-$tag.txt"
    "$results/chaos" -bin "$WORK/pincluster" -peers 5 -duration "${CHAOS:-60s}" -seed "${SEED}" -dir "$WORK/chaos" \
      >"$results/chaos-$tag.txt" 2>&1 || say "chaos failed: see $results/chaos-$tag.txt"
    [ -f "$WORK/netimpair.log" ] && { kill -USR1 "$(head -1 "$WORK/pids")"; sleep 0.3; tail -1 "$WORK/netimpair.log" >"$results/relay-$tag.txt"; }
    label >"$results/path-$tag.txt"
    cleanup
  done
  disarm
  bench_table "$results"
}

# run_tag IMPAIR:LINK names a bench run's files.
run_tag() { local t=${1//[^0-9a-z]/_}; echo "${t}"; }

# bench_table RESULTS prints the table of a bench run's raw outputs.
bench_table() {
  local results=$1 link tag f c
  field() { grep -m1 "^$2" "$1" 2>/dev/null | awk -F'|' '{gsub(/^ +| +$/, "", $2); print $2}'; }
  chaosline() { grep -m1 "^$2" "$1" 2>/dev/null | sed "s/^$2 *//"; }
  printf '\n| between peers | ingest on peer 1 (3 peers) | convergence to 2 peers, p50 / p99 | fresh peer catches up with %s pins | chaos, 5 peers, %s, seed %s: acked ops, lost | converged after heal |\n' "${BENCH_CATCHUP:-5000}" "${CHAOS:-60s}" "$SEED"
  printf '|---|---|---|---|---|---|\n'
  for run in none:0 relay:0 "$IMPAIR:$LINK"; do
    tag=$(run_tag "$run")
    f=$results/bench-$tag.txt c=$results/chaos-$tag.txt
    [ -f "$f" ] || continue
    printf '| %s | %s | %s | %s | %s | %s |\n' "$(cat "$results/path-$tag.txt")" "$(field "$f" 'ingest on peer 1')" \
      "$(field "$f" 'convergence to peers')" "$(field "$f" 'fresh peer catches up')" \
      "$(grep -m1 -o '^chaos: \(PASS\|FAIL\)' "$c" | sed 's/chaos: //'), $(chaosline "$c" 'ops acknowledged:' | cut -d' ' -f1) acked, lost $(chaosline "$c" 'lost:' | cut -d' ' -f1)" \
      "$(chaosline "$c" 'converged:')"
  done
  for f in "$results"/relay-*.txt; do [ -f "$f" ] && say "relay counters ($(basename "$f" .txt)): $(sed 's/^netimpair: //' "$f")"; done
  say "raw outputs in $results"
}

# deploy_check runs the commands of docs/deploy.md in the namespace cluster, each "host" I
# being namespace I with its own /var/lib/pincluster ($WORK/hostI/var/lib/pincluster, $V
# below) and /etc/pincluster ($E), and LINK between the hosts. It prints ok/FAIL per step and
# writes every command's output to $RESULTS/deploy-check.log.
deploy_check() {
  local reason results=${RESULTS:-/tmp/pincluster-netns-results} SECRET A i out ids id4 new4 cid pins
  if ! reason=$(available); then die "not available here ($reason)"; fi
  [ -x "$BIN" ] && [ -x "$IMPAIR_BIN" ] || die "build first: make build netimpair"
  command -v jq >/dev/null || die "deploy-check needs jq (the guide's commands use it)"
  cleanup
  arm
  mkdir -p "$results"; DLOG=$results/deploy-check.log; : >"$DLOG"; FAILS=0
  net 5
  mkdir -p "$WORK/bin"; ln -sf "$(readlink -f "$BIN")" "$WORK/bin/pincluster"
  for i in 1 2 3 4 5; do mkdir -p "$WORK/host$i/var/lib" "$WORK/host$i/etc"; done
  say "deploy-check: 5 hosts, $(describe)"

  SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  step "the secret: 64 hex characters" test "${#SECRET}" = 64
  for i in 1 2 3; do
    step "host $i: CLUSTER_SECRET=\$SECRET pincluster --config /var/lib/pincluster init" \
      on "$i" "CLUSTER_SECRET=$SECRET pincluster --config \$V init | grep -q 'initialized pincluster peer'"
    step "host $i: service.json and identity.json mode 0600 in a 0700 directory" \
      on "$i" '[ "$(stat -c %a $V/service.json $V/identity.json $V | tr "\n" " ")" = "600 600 700 " ]'
  done
  start_host 1 || true
  step "host 1: daemon prints 'is ready', the REST API on 127.0.0.1:9094 and its cluster address" \
    grep -q "REST API: /ip4/127.0.0.1/tcp/9094" "$WORK/host1/daemon.log"
  A=$(sed -n 's#^  cluster:  \(/ip4/198\.18\.0\.1/tcp/9096/p2p/.*\)#\1#p' "$WORK/host1/daemon.log" | head -1)
  step "host 1: the cluster address to bootstrap from is printed ($A)" test -n "$A"
  for i in 2 3; do start_host "$i" --bootstrap "$A" || true; done
  step "peers ls: each of hosts 1-3 'Sees 2 other peers'" \
    wait_until 60 all_hosts_see 3 2
  cid=$(identity_cid deploy-1)
  step "pin add on host 2 reaches host 3" \
    eval "on 2 'pincluster --config \$V pin add $cid >/dev/null' && wait_until 30 on 3 'pincluster --config \$V pin ls | grep -q $cid'"
  step "host 1: status lists the pin on the three peers" \
    wait_until 30 on 1 "pincluster --config \$V status $cid | tee /dev/stderr | grep -c 'PINNED' | grep -qx 3"

  # The secret from the environment (host 4): a service.json without it refuses to start.
  step "host 4: /etc/pincluster/env written mode 0600" \
    on 4 "printf 'CLUSTER_SECRET=%s\n' '$SECRET' > \$E/env && chmod 600 \$E/env && [ \"\$(stat -c %a \$E/env)\" = 600 ]"
  step "host 4: init, then the secret removed from service.json (jq)" \
    on 4 "CLUSTER_SECRET=$SECRET pincluster --config \$V init >/dev/null && jq '.cluster.secret = \"\"' \$V/service.json > \$V/s.new && mv \$V/s.new \$V/service.json && chmod 600 \$V/service.json"
  step "host 4: without CLUSTER_SECRET the daemon refuses to start, naming cluster.secret" \
    on 4 "! pincluster --config \$V daemon --bootstrap $A > \$V/../refused.log 2>&1; grep -q 'cluster.secret: must be 32 bytes written as 64 hex characters' \$V/../refused.log"
  ENVFILE=1 start_host 4 --bootstrap "$A" || true
  step "host 4: with 'set -a; . /etc/pincluster/env; set +a' it joins (host 1 sees 3 other peers)" \
    wait_until 60 on 1 "pincluster --config \$V peers ls | grep -q 'Sees 3 other peers'"

  # Trusted peers: hosts 1-3 only, set with the guide's jq command, restarted one by one.
  ids=$(for i in 1 2 3; do on "$i" 'pincluster --config $V id --enc json | jq -r .id'; done | jq -R . | jq -sc .)
  step "trusted peers: the three IDs from 'id --enc json | jq -r .id' ($ids)" test "$(echo "$ids" | jq length)" = 3
  for i in 1 2 3; do
    stop_host "$i"
    step "host $i: trusted_peers set with jq --argjson while stopped" \
      on "$i" "cd \$V && jq --argjson t '$ids' '.consensus.crdt.trusted_peers = \$t' service.json > service.json.new && mv service.json.new service.json && chmod 600 service.json"
    start_host "$i" || true # no --bootstrap: the peerstore
    step "host $i: restarted without --bootstrap, back in the cluster (peerstore)" \
      wait_until 60 on "$i" "pincluster --config \$V peers ls | grep -c 'Sees 3 other peers' | grep -qx 4"
  done
  cid=$(identity_cid deploy-2)
  step "a trusted peer's pin (host 1) reaches host 3" \
    eval "on 1 'pincluster --config \$V pin add $cid >/dev/null' && wait_until 30 on 3 'pincluster --config \$V pin ls | grep -q $cid'"
  cid=$(identity_cid deploy-untrusted)
  on 4 "pincluster --config \$V pin add $cid" >>"$DLOG" 2>&1 || true
  step "an untrusted peer's pin (host 4, not in the list) is not applied by host 1 within 15 s" \
    eval "! wait_until 15 on 1 'pincluster --config \$V pin ls | grep -q $cid'"

  # Rolling upgrade of host 2: stop, start with --upgrade.
  stop_host 2
  start_host 2 --upgrade || true
  step "host 2: daemon --upgrade says the state format is current, and rejoins" \
    eval "grep -q 'state format is current' '$WORK/host2/daemon.log' && wait_until 60 on 2 'pincluster --config \$V peers ls | grep -q \"Sees 3 other peers\"'"

  # Bootstrap upgrade of host 4: peers rm, delete its identity, --upgrade --bootstrap.
  id4=$(on 4 'pincluster --config $V id --enc json | jq -r .id')
  step "host 1: peers rm host 4" on 1 "pincluster --config \$V peers rm $id4"
  step "host 4: shuts down, its state moved to backups/" \
    wait_until 60 grep -q 'this peer was removed from the cluster; its state was moved to' "$WORK/host4/daemon.log"
  stop_host 4
  step "host 4: rm /var/lib/pincluster/identity.json" on 4 'rm $V/identity.json'
  ENVFILE=1 start_host 4 --upgrade --bootstrap "$A" || true
  new4=$(on 4 'pincluster --config $V id --enc json | jq -r .id' 2>/dev/null || true)
  step "host 4: daemon --upgrade --bootstrap made a new identity ($new4) and joined" \
    eval "[ -n '$new4' ] && [ '$new4' != '$id4' ] && wait_until 60 on 1 'pincluster --config \$V peers ls | grep -q $new4'"

  # Backups on host 3.
  step "host 3: pin ls --filter all --enc json > pinset-live.jsonl while running" \
    on 3 'pincluster --config $V pin ls --filter all --enc json > pinset-live.jsonl && [ -s pinset-live.jsonl ]'
  step "host 2 running: state export refuses, saying to stop the daemon" \
    on 2 '! pincluster --config $V state export -f x.jsonl > refused.txt 2>&1; grep -q "stop the daemon before running state commands" refused.txt'
  pins=$(on 3 'pincluster --config $V pin ls --enc json | grep -c .' || true)
  stop_host 3
  step "host 3: state export -f pinset-\$(date +%F).jsonl; a header line first" \
    on 3 'pincluster --config $V state export -f pinset-$(date +%F).jsonl && head -1 pinset-$(date +%F).jsonl | grep -q "\"pincluster_state\":1"'
  step "host 3: state cleanup -f keeps a backup in backups/, and mv puts it back" \
    on 3 'out=$(pincluster --config $V state cleanup -f) && echo "$out" && b=$(ls -d $V/backups/pinset-* | tail -1) && [ ! -e $V/pinset ] && mv "$b" $V/pinset'
  step "host 3: state import pinset-DATE.jsonl says how many pins" \
    on 3 'pincluster --config $V state import pinset-$(date +%F).jsonl | grep -q "imported [0-9]* pins"'
  step "host 3: state import pinset-live.jsonl (the pin ls form) too" \
    on 3 'pincluster --config $V state import pinset-live.jsonl | grep -q "imported [0-9]* pins"'
  step "host 3: state upgrade with the daemon stopped" \
    on 3 'pincluster --config $V state upgrade'
  start_host 3 || true
  step "host 3: restarted with the imported state: its $pins pins" \
    wait_until 60 on 3 "[ \"\$(pincluster --config \$V pin ls --enc json | grep -c .)\" -ge $pins ]"

  # A follower on host 5.
  step "host 5: follow web init --bootstrap" \
    on 5 "CLUSTER_SECRET=$SECRET PINCLUSTER_FOLLOW_PATH=\$V pincluster follow web init --bootstrap $A"
  FOLLOW=1 start_host 5 || true
  step "host 5: follow web info and list (the cluster's pins)" \
    wait_until 60 on 5 "PINCLUSTER_FOLLOW_PATH=\$V pincluster follow web info >/dev/null && PINCLUSTER_FOLLOW_PATH=\$V pincluster follow web list | grep -q $(identity_cid deploy-1)"

  # Leaving on shutdown (host 4).
  stop_host 4
  on 4 'echo CLUSTER_LEAVE_ON_SHUTDOWN=true >> $E/env' >>"$DLOG" 2>&1
  ENVFILE=1 start_host 4 || true
  wait_until 60 on 1 "pincluster --config \$V peers ls | grep -q $new4" || true
  stop_host 4
  step "host 4: with CLUSTER_LEAVE_ON_SHUTDOWN=true a stop leaves the cluster" \
    grep -q 'leave_on_shutdown: the other members forgot this peer' "$WORK/host4/daemon.log"

  if [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ]; then
    say "systemd is PID 1 here: the unit's commands were not run by this check (they install into /usr/local and /etc)"
  else
    say "systemd: not run (PID 1 here is '$(ps -p 1 -o comm= 2>/dev/null)', not systemd): useradd, install, systemctl and journalctl were not tested"
  fi
  for i in 1 2 3 5; do stop_host "$i"; done
  for i in 1 2 3 4 5; do cp "$WORK/host$i/daemon.log" "$results/deploy-host$i.log" 2>/dev/null || true; done
  disarm
  cleanup
  if [ "$FAILS" = 0 ]; then say "deploy-check: every step passed (log: $DLOG)"; else say "deploy-check: $FAILS steps failed (log: $DLOG)"; return 1; fi
}

# on I CMD runs the shell command CMD on host I: in its namespace, in $WORK/hostI, with
# pincluster on PATH, V=its /var/lib/pincluster and E=its /etc/pincluster.
on() {
  local i=$1; shift
  ip netns exec "$PREFIX-p$i" env PATH="$WORK/bin:$PATH" V="$WORK/host$i/var/lib/pincluster" E="$WORK/host$i/etc/pincluster" \
    bash -c "cd '$WORK/host$i' && mkdir -p \$E && $*"
}

# step DESC CMD... runs CMD, prints ok or FAIL with DESC, and logs the output.
step() {
  local desc=$1 out rc=0; shift
  out=$("$@" 2>&1) || rc=$?
  local shown="$*"
  [ -n "${SECRET:-}" ] && shown=${shown//$SECRET/\$SECRET} # the log keeps no secret
  printf '== %s\n$ %s\n%s\n' "$desc" "$shown" "$out" >>"$DLOG"
  if [ $rc = 0 ]; then say "ok: $desc"; else say "FAIL: $desc"; FAILS=$((FAILS + 1)); fi
}

# start_host I [ARGS]: start host I's daemon (the follower with FOLLOW=1; with the env file
# sourced as the guide does with ENVFILE=1) and wait until it says it is ready.
start_host() {
  local i=$1 cmd; shift
  cmd="exec pincluster --config \$V daemon $*"
  [ "${FOLLOW:-0}" = 1 ] && cmd="exec env PINCLUSTER_FOLLOW_PATH=\$V pincluster follow web run"
  [ "${ENVFILE:-0}" = 1 ] && cmd="set -a; . \$E/env; set +a; $cmd"
  rm -f "$WORK/host$i/pid"
  # The shell writes its pid, then execs the daemon, which keeps it: that pid is the daemon's.
  on "$i" "echo \$\$ > '$WORK/host$i/pid'; $cmd" >>"$WORK/host$i/daemon.log" 2>&1 &
  for _ in $(seq 1 40); do [ -s "$WORK/host$i/pid" ] && break; sleep 0.05; done
  cat "$WORK/host$i/pid" >>"$WORK/pids"; cat "$WORK/host$i/pid" >>"$WORK/pids.all"
  echo "host $i: $cmd (pid $(cat "$WORK/host$i/pid"))" >>"$DLOG"
  for _ in $(seq 1 240); do
    [ "$(grep -c 'is ready' "$WORK/host$i/daemon.log")" -ge "$(($(cat "$WORK/host$i/starts" 2>/dev/null || echo 0) + 1))" ] && {
      echo $(($(cat "$WORK/host$i/starts" 2>/dev/null || echo 0) + 1)) >"$WORK/host$i/starts"; return 0; }
    kill -0 "$(cat "$WORK/host$i/pid")" 2>/dev/null || { say "host $i exited: $(tail -3 "$WORK/host$i/daemon.log")"; return 1; }
    sleep 0.25
  done
  say "host $i not ready in 60 s"; return 1
}

# stop_host I: SIGTERM, as systemctl stop, and wait for the exit.
stop_host() {
  local pid
  pid=$(cat "$WORK/host$1/pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  rm -f "$WORK/host$1/pid"
}

# all_hosts_see N K: each of hosts 1..N lists N peers that each see K others.
all_hosts_see() { local i; for i in $(seq 1 "$1"); do [ "$(on "$i" 'pincluster --config $V peers ls' | grep -c "Sees $2 other peers")" = "$1" ] || return 1; done; }

cmd=${1:-run}
[ $# -gt 0 ] && shift
case $cmd in
  selftest) selftest ;;
  down) cleanup; say "down: nothing named $PREFIX* is left" ;;
  up|run|net)
    if ! reason=$(available); then die "not available here ($reason)"; fi
    n=${1:-3}
    cleanup
    # Whatever fails half way is removed; up and net keep what they made once it all works.
    arm
    if [ "$cmd" = net ]; then
      net "$n"; disarm
      say "wrapper: $WORK/pincluster (e.g. go run ./chaos -bin $WORK/pincluster -dir $WORK/chaos)"; exit 0
    fi
    up "$n"
    say "between peers: $(describe)"
    if [ "$cmd" = run ]; then
      # sleep in the background and wait: a signal to this script ends the wait at once.
      if [ -n "${2:-}" ]; then say "running for $2 (Ctrl-C stops it)"; sleep "$2" & wait $!; else say "Ctrl-C stops the cluster"; sleep infinity & wait $!; fi
    else
      disarm
      say "scripts/netns-cluster.sh down stops it"
    fi ;;
  bench) bench ;;
  deploy-check) deploy_check ;;
  bench-table) bench_table "${RESULTS:-/tmp/pincluster-netns-results}" ;;
  *) echo "usage: $0 [run [N] [DURATION] | up [N] | down | selftest | net [N] | bench]" >&2; exit 2 ;;
esac
