#!/usr/bin/env bash
# A real two-node Ray search on ONE machine: two network namespaces joined by a veth pair, a Ray
# head node in one and a worker node in the other, and a small `archon search --workers 2
# --ray-address ...` driven from the head. Prints where each trial and engine replica ran and
# exits non-zero unless trials ran on both nodes. Needs root (namespaces, veth).
#
#   sudo scripts/multinode_search.sh            # VENV=.venv (make setup's venv) by default
#   sudo VENV=/path/to/venv scripts/multinode_search.sh
#
# Environment:
#   VENV       the virtual env whose `ray` and `archon` to run (relative: to the repo root)
#   OUT_DIR    if set, the run directory is copied there (trials.csv, env.json, log.txt, ...)
#   KEEP_WORK  if set to 1, the temporary work dir (config, cache, runs, Ray logs) is kept
#   TRIALS     number of trials (default 6)
#   LOCK_WAIT_S  how long to wait for another run of this script to finish (default 300)
#
# Only the private test addresses 10.231.7.1 (head) and 10.231.7.2 (worker) are used, inside
# namespaces of their own: nothing is routed to or from the host's network.
#
# Cleanup does not use `ray stop`: it is not namespace-aware and would kill every Ray process on
# the machine (other people's clusters and tests included). Instead it stops exactly the
# processes inside the two namespaces (`ip netns pids`), SIGTERM then SIGKILL, as `ray stop` does.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-.venv}
[[ $VENV = /* ]] || VENV="$ROOT/$VENV"
HEAD_NS=archon-head
WORKER_NS=archon-worker
VETH_HEAD=archon-vh     # interface names: at most 15 characters
VETH_WORKER=archon-vw
HEAD_IP=10.231.7.1
WORKER_IP=10.231.7.2
RAY_PORT=6390
TRIALS=${TRIALS:-6}
LOCK=/run/archon-multinode.lock

# Long steps run in the background and are waited for, so that SIGTERM/SIGINT reach the trap at
# once (bash defers traps until a foreground child exits) and the cleanup stops them.
in_bg() { "$@" & wait $!; }
log() { printf '[multinode] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces and veth need it)"
command -v ip >/dev/null || die "iproute2 is missing: apt-get install -y iproute2"
[[ -x $VENV/bin/ray && -x $VENV/bin/archon ]] || die "no ray/archon in $VENV (run make setup, or set VENV)"

# One run at a time: whoever holds the lock owns the namespace names, so any that exist now are
# leftovers of a run that died before its cleanup.
exec 9>"$LOCK"
if ! flock -n 9; then
    log "another multinode run holds $LOCK; waiting (up to ${LOCK_WAIT_S:-300}s)"
    flock -w "${LOCK_WAIT_S:-300}" 9 || die "another multinode run still holds $LOCK"
fi

stop_namespace() {  # stop every process in the namespace, then delete it (its veth end goes too)
    local ns=$1 pids i
    ip netns list | grep -qw "^$ns" || return 0
    pids=$(ip netns pids "$ns" || true)
    if [[ -n $pids ]]; then
        kill -TERM $pids 2>/dev/null || true
        for i in $(seq 50); do
            pids=$(ip netns pids "$ns" || true)
            [[ -z $pids ]] && break
            sleep 0.1
        done
        [[ -n $pids ]] && kill -KILL $pids 2>/dev/null || true
        for i in $(seq 50); do
            [[ -z $(ip netns pids "$ns" || true) ]] && break
            sleep 0.1
        done
    fi
    ip netns del "$ns" 2>/dev/null || true
}

WORK=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    log "cleaning up"
    stop_namespace "$WORKER_NS"
    stop_namespace "$HEAD_NS"
    ip link del "$VETH_HEAD" 2>/dev/null || true  # only if it ever ended up outside a namespace
    if [[ -n $WORK ]]; then
        if [[ ${KEEP_WORK:-0} = 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_namespace "$WORKER_NS"
stop_namespace "$HEAD_NS"

# Short path: Ray's unix sockets live under its temp dir (107-character limit).
WORK=$(mktemp -d /tmp/amn.XXXXXX)

log "network: $HEAD_NS ($HEAD_IP) <-> $WORKER_NS ($WORKER_IP)"
ip netns add "$HEAD_NS"
ip netns add "$WORKER_NS"
ip link add "$VETH_HEAD" netns "$HEAD_NS" type veth peer name "$VETH_WORKER" netns "$WORKER_NS"
ip -n "$HEAD_NS" addr add "$HEAD_IP/24" dev "$VETH_HEAD"
ip -n "$WORKER_NS" addr add "$WORKER_IP/24" dev "$VETH_WORKER"
for ns in "$HEAD_NS" "$WORKER_NS"; do ip -n "$ns" link set lo up; done
ip -n "$HEAD_NS" link set "$VETH_HEAD" up
ip -n "$WORKER_NS" link set "$VETH_WORKER" up
if command -v ping >/dev/null; then
    ip netns exec "$HEAD_NS" ping -c1 -W5 "$WORKER_IP" >/dev/null || die "$HEAD_NS cannot reach $WORKER_IP"
fi

# Ray 2.60 turns token authentication on by default. The cluster gets a fresh token of its own
# (in the work dir, not ~/.ray): head, worker and driver all read it from RAY_AUTH_TOKEN_PATH.
"$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(32))' >"$WORK/auth_token"
chmod 600 "$WORK/auth_token"
export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH="$WORK/auth_token"
export RAY_USAGE_STATS_ENABLED=0 RAY_DEDUP_LOGS=0
OBJECT_STORE=$((200 * 1024 * 1024))

log "ray head in $HEAD_NS"
in_bg ip netns exec "$HEAD_NS" "$VENV/bin/ray" start --head --node-ip-address "$HEAD_IP" --port "$RAY_PORT" \
    --num-cpus 1 --include-dashboard=false --disable-usage-stats --temp-dir "$WORK/ray-head" \
    --object-store-memory "$OBJECT_STORE" >"$WORK/ray-head.log" 2>&1 \
    || { cat "$WORK/ray-head.log" >&2; die "ray head did not start"; }
log "ray worker in $WORKER_NS"
in_bg ip netns exec "$WORKER_NS" "$VENV/bin/ray" start --address "$HEAD_IP:$RAY_PORT" --node-ip-address "$WORKER_IP" \
    --num-cpus 1 --disable-usage-stats --temp-dir "$WORK/ray-worker" \
    --object-store-memory "$OBJECT_STORE" >"$WORK/ray-worker.log" 2>&1 \
    || { cat "$WORK/ray-worker.log" >&2; die "ray worker did not start"; }

log "waiting for both nodes"
ip netns exec "$HEAD_NS" "$VENV/bin/python" - "$HEAD_IP:$RAY_PORT" <<'EOF' || die "the cluster never had two live nodes"
import sys, time
import ray
ray.init(address=sys.argv[1], include_dashboard=False, log_to_driver=False, configure_logging=False)
deadline = time.monotonic() + 60
while len(ips := sorted(n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"])) < 2:
    if time.monotonic() > deadline:
        sys.exit(f"live nodes: {ips}")
    time.sleep(0.5)
print("[multinode] live nodes:", ", ".join(ips), file=sys.stderr)
EOF

cat >"$WORK/search.yaml" <<EOF
name: multinode
runs_dir: $WORK/runs
task: {dataset: arithmetic, size: 12, search_size: 4, split_seed: 1}
models:
  m: {model: local/smollm2-135m, replicas: 2, cpus_per_replica: 0.5}
space:
  name: tiny
  defaults: {max_tokens: 16}
  layers:
    - name: L0
      component: {type: generator, params: {samples: {choices: [1, 2, 3]}, temperature: 0.7}}
    - name: L1
      choice:
        none: []
        vote: [{component: {type: majority_vote}}]
        fuse: [{component: {type: fuser}}]
search: {trials: $TRIALS, sampler: tpe}
EOF

log "archon search --workers 2 --ray-address $HEAD_IP:$RAY_PORT (from $HEAD_NS)"
cd "$ROOT"
in_bg ip netns exec "$HEAD_NS" env ARCHON_CACHE_DIR="$WORK/cache" \
    "$VENV/bin/archon" search "$WORK/search.yaml" --workers 2 --ray-address "$HEAD_IP:$RAY_PORT" \
    || die "archon search failed"

RUN=$(find "$WORK/runs" -mindepth 1 -maxdepth 1 -type d | head -1)
[[ -n $RUN ]] || die "no run directory under $WORK/runs"
if [[ -n ${OUT_DIR:-} ]]; then mkdir -p "$OUT_DIR" && cp -r "$RUN/." "$OUT_DIR/"; fi

"$VENV/bin/python" - "$RUN" "$HEAD_IP" "$WORKER_IP" <<'EOF'
import collections, csv, json, sys
from pathlib import Path

run, head, worker = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
role = {head: "head", worker: "worker"}
rows = [r for r in csv.DictReader((run / "trials.csv").open()) if r["outcome"] != "duplicate"]
per_node = collections.Counter(r["node"].split("/")[0] if r["node"] else "?" for r in rows)
env = json.loads((run / "env.json").read_text())
ip_of = {n["node_id"]: n["ip"] for n in env["ray"]["nodes"]}
print(f"run: {run.name}  trials: {len(rows)}  outcomes: {dict(collections.Counter(r['outcome'] for r in rows))}")
print("trials per node:")
for ip, n in sorted(per_node.items()):
    print(f"  {ip:<12} {role.get(ip, '?'):<7} {n}")
print("engine replicas:")
for e in env["engines"]:
    ip = ip_of.get(e["node_id"], "?")
    print(f"  {e['model']:<20} {ip:<12} {role.get(ip, '?'):<7} node {e['node_id'][:8]}  {e['url']}  "
          f"restarts {e['restarts']}")
if len({ip_of.get(e["node_id"]) for e in env["engines"]}) < 2:
    print("note: the engine replicas share one node (Ray placed them so; trials still route to them)")
missing = [f"{role[ip]} ({ip})" for ip in (head, worker) if not per_node.get(ip)]
if missing:
    sys.exit(f"FAIL: no trial ran on {', '.join(missing)}")
print(f"OK: trials ran on both nodes ({head}={per_node[head]}, {worker}={per_node[worker]})")
EOF
