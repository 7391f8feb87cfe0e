#!/usr/bin/env bash
# The scaled-out shape on this machine, from one command: nginx in front of N app workers that share
# Redis (one node, or with --cluster a Redis Cluster of 3 masters with a replica each), all on loopback.
#
#   scripts/stack.sh up N [--cluster]   start it; prints the URL phones open
#   scripts/stack.sh status             what runs where, each worker live (/livez) and ready (/readyz);
#                                       exit 1 if nothing runs
#   scripts/stack.sh down               stop everything `up` started: nothing is left listening
#
# Configuration comes from the files docker-compose.yml uses too, so the two cannot drift:
# deploy/stack.env (settings; variables already set in the environment win), deploy/nginx.conf.template,
# deploy/redis.conf and deploy/redis-cluster.conf. Only addresses differ: loopback ports here, service
# names under Docker. nginx listens on NGINX_PORT (0: any free port); workers and Redis nodes take free
# ports. STACK_DIR (default ./.stack) holds the rendered configs, pids, logs and Redis data; state.env
# there names every port and pid (tests and bench/ read it).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STACK_DIR=${STACK_DIR:-$ROOT/.stack}
STATE=$STACK_DIR/state.env
READY_TIMEOUT=${STACK_READY_TIMEOUT:-60}
READY_PATH=${STACK_READY_PATH:-/readyz}

if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python3; fi
fi

die() { echo "stack: $*" >&2; exit 1; }

need() {
  local binary
  for binary in "$@"; do
    command -v "$binary" >/dev/null 2>&1 || [ -x "/usr/sbin/$binary" ] \
      || die "$binary is not installed (Debian: apt-get install nginx redis-server)"
  done
}

nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

load_settings() {
  # deploy/stack.env, without overriding what the caller's environment already sets.
  local line name
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    name=${line%%=*}
    if [ -z "${!name+set}" ]; then export "$line"; fi
  done <"$ROOT/deploy/stack.env"
}

free_ports() {
  # $1 distinct free loopback ports, drawn below the kernel's ephemeral range (where every outgoing
  # connection and every "port 0" server of a busy machine takes its port): a port chosen here is still
  # free seconds later, when the node, worker or nginx that gets it binds it.
  "$PYTHON" - "$1" <<'EOF'
import random, socket, sys
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
held, ports = [], []
while len(ports) < int(sys.argv[1]):
    port = random.randrange(10_000, max(low, 10_001))
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    held.append(s)
    ports.append(port)
print(" ".join(map(str, ports)))
EOF
}

render_nginx() {
  # The shared template with the APP_SERVER line repeated once per worker (what Docker's DNS does for the
  # service name), then ${NAME} replaced from the environment as the nginx image's envsubst would.
  "$PYTHON" - "$ROOT/deploy/nginx.conf.template" "$@" <<'EOF'
import os, re, sys
template, servers = open(sys.argv[1]).read(), sys.argv[2:]
lines = []
for line in template.splitlines():
    if "${APP_SERVER}" in line:
        lines += [line.replace("${APP_SERVER}", s) for s in servers]
    else:
        lines.append(line)
print(re.sub(r"\$\{([A-Z_][A-Z0-9_]*)\}", lambda m: os.environ[m.group(1)], "\n".join(lines)))
EOF
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  # start NAME COMMAND...: run in the background, stdout/stderr to logs/NAME.log, pid to pids/NAME.pid.
  local name=$1; shift
  "$@" </dev/null >>"$STACK_DIR/logs/$name.log" 2>&1 &
  echo $! >"$STACK_DIR/pids/$name.pid"
}

redis_node() {
  # redis_node NAME PORT [cluster bus port]: deploy/redis.conf (+ deploy/redis-cluster.conf) on stdin.
  local name=$1 port=$2 bus=${3:-} dir=$STACK_DIR/redis/$1
  mkdir -p "$dir"
  if [ -n "$bus" ]; then
    # exec, not a pipeline: the pid recorded is redis-server's own, so `down` stops the node itself.
    # REDIS_CLUSTER_NODE_TIMEOUT (ms), when set, overrides deploy/redis-cluster.conf's (bench/bench_cluster.py
    # compares timeouts with it).
    start "$name" bash -c 'exec redis-server - --port "$2" --cluster-port "$3" --bind 127.0.0.1 --dir "$4" \
      ${5:+--cluster-node-timeout "$5"} < <(cat "$0" "$1")' \
      "$ROOT/deploy/redis.conf" "$ROOT/deploy/redis-cluster.conf" "$port" "$bus" "$dir" "${REDIS_CLUSTER_NODE_TIMEOUT:-}"
  else
    start "$name" bash -c 'exec redis-server - --port "$1" --bind 127.0.0.1 --dir "$2" <"$0"' \
      "$ROOT/deploy/redis.conf" "$port" "$dir"
  fi
}

wait_for() {
  # wait_for WHAT COMMAND...: retry until COMMAND succeeds or READY_TIMEOUT seconds pass.
  local what=$1 deadline=$((SECONDS + READY_TIMEOUT)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$what did not get ready within ${READY_TIMEOUT} s (logs in $STACK_DIR/logs)"
    sleep 0.2
  done
}

redis_up() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }

cluster_ready() {
  # Every node agrees the cluster is ok, and every master's replica has finished its first sync.
  local port
  for port in "$@"; do
    redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' || return 1
    if redis-cli -p "$port" info replication | grep -q '^role:slave'; then
      redis-cli -p "$port" info replication | grep -q '^master_link_status:up' || return 1
    fi
  done
}

http_ok() {
  "$PYTHON" -c 'import sys, urllib.request; sys.exit(urllib.request.urlopen(sys.argv[1], timeout=2).status != 200)' "$1"
}

up() {
  local workers=${1:-} cluster=0
  [ "${2:-}" = "--cluster" ] && cluster=1
  [[ "$workers" =~ ^[1-9][0-9]*$ ]] || die "usage: scripts/stack.sh up N [--cluster]"
  need nginx redis-server redis-cli
  if [ -d "$STACK_DIR/pids" ]; then
    local pid
    for pid in "$STACK_DIR"/pids/*.pid; do
      alive "$pid" && die "a stack already runs from $STACK_DIR (scripts/stack.sh down first)"
    done
  fi
  rm -rf "$STACK_DIR/pids" "$STACK_DIR/redis" "$STACK_DIR/nginx"
  trap 'echo "stack: stopping what was started" >&2; down >&2' EXIT
  mkdir -p "$STACK_DIR/pids" "$STACK_DIR/logs" "$STACK_DIR/redis" "$STACK_DIR/nginx/tmp"
  load_settings
  [ "$NGINX_PORT" = 0 ] && NGINX_PORT=$(free_ports 1)
  export NGINX_PORT

  local nodes=1 i
  [ $cluster = 1 ] && nodes=$((REDIS_CLUSTER_MASTERS * (1 + REDIS_CLUSTER_REPLICAS)))
  read -r -a app_ports <<<"$(free_ports "$workers")"
  read -r -a redis_ports <<<"$(free_ports $((cluster ? 2 * nodes : nodes)))"
  local node_ports=("${redis_ports[@]:0:$nodes}") bus_ports=("${redis_ports[@]:$nodes}")

  for i in $(seq 0 $((nodes - 1))); do
    if [ $cluster = 1 ]; then redis_node "redis$((i + 1))" "${node_ports[$i]}" "${bus_ports[$i]}"
    else redis_node redis1 "${node_ports[$i]}"; fi
  done
  for i in "${node_ports[@]}"; do wait_for "redis on port $i" redis_up "$i"; done
  if [ $cluster = 1 ]; then
    local addresses=()
    for i in "${node_ports[@]}"; do addresses+=("127.0.0.1:$i"); done
    redis-cli --cluster create "${addresses[@]}" --cluster-replicas "$REDIS_CLUSTER_REPLICAS" --cluster-yes \
      >>"$STACK_DIR/logs/cluster-create.log" 2>&1 || die "redis-cli --cluster create failed (logs/cluster-create.log)"
    wait_for "the Redis cluster" cluster_ready "${node_ports[@]}"
  fi
  local redis_url="redis://127.0.0.1:${node_ports[0]}/0"

  export FACILITATION_PUBLIC_URL=${FACILITATION_PUBLIC_URL:-http://127.0.0.1:$NGINX_PORT}
  for i in $(seq 1 "$workers"); do
    FACILITATION_WORKER_NAME=app$i start "app$i" "$PYTHON" -m facilitation.tools.cli serve --host 127.0.0.1 \
      --port "${app_ports[$((i - 1))]}" --redis "$redis_url"
  done
  # Liveness first (the process answers), then readiness (it can take commands): a worker that never gets
  # ready is then told apart from one that never started.
  for i in "${app_ports[@]}"; do wait_for "the app worker on port $i (GET /livez)" http_ok "http://127.0.0.1:$i/livez"; done
  for i in "${app_ports[@]}"; do
    wait_for "the app worker on port $i, which is live but not ready (GET $READY_PATH names the failing part)" \
      http_ok "http://127.0.0.1:$i$READY_PATH"
  done

  local servers=()
  for i in "${app_ports[@]}"; do servers+=("127.0.0.1:$i"); done
  render_nginx "${servers[@]}" >"$STACK_DIR/nginx/facilitation.conf"
  local user="" files
  [ "$(id -u)" = 0 ] && user="user nobody nogroup;"
  files=$(ulimit -Hn)
  [ "$files" = unlimited ] || [ "$files" -gt 65536 ] && files=65536
  cat >"$STACK_DIR/nginx/nginx.conf" <<EOF
# Written by scripts/stack.sh: process settings for this machine around the shared template.
$user
daemon off;
worker_processes auto;
worker_rlimit_nofile $files;
pid $STACK_DIR/nginx/nginx.pid;
error_log $STACK_DIR/logs/nginx-error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $STACK_DIR/nginx/tmp/body;
    proxy_temp_path $STACK_DIR/nginx/tmp/proxy;
    fastcgi_temp_path $STACK_DIR/nginx/tmp/fastcgi;
    uwsgi_temp_path $STACK_DIR/nginx/tmp/uwsgi;
    scgi_temp_path $STACK_DIR/nginx/tmp/scgi;
    include $STACK_DIR/nginx/facilitation.conf;
}
EOF
  "$(nginx_bin)" -t -q -p "$STACK_DIR/nginx" -c "$STACK_DIR/nginx/nginx.conf" 2>>"$STACK_DIR/logs/nginx-error.log" \
    || die "nginx refused the configuration (logs/nginx-error.log)"
  start nginx "$(nginx_bin)" -p "$STACK_DIR/nginx" -c "$STACK_DIR/nginx/nginx.conf"
  wait_for "nginx on port $NGINX_PORT" http_ok "http://127.0.0.1:$NGINX_PORT$READY_PATH"

  # Written whole and then renamed: a script or test polling for state.env never reads half of it.
  cat >"$STATE.tmp" <<EOF
STACK_URL=http://127.0.0.1:$NGINX_PORT
STACK_REDIS_URL=$redis_url
STACK_CLUSTER=$cluster
STACK_NGINX_PORT=$NGINX_PORT
STACK_APP_PORTS="${app_ports[*]}"
STACK_REDIS_PORTS="${node_ports[*]}"
STACK_REDIS_BUS_PORTS="${bus_ports[*]}"
EOF
  mv "$STATE.tmp" "$STATE"
  trap - EXIT
  echo "stack up: $workers worker(s) behind nginx, Redis $([ $cluster = 1 ] && echo "cluster of $nodes nodes" || echo "single node")"
  echo "open http://127.0.0.1:$NGINX_PORT/new   (scripts/stack.sh status; scripts/stack.sh down)"
}

probe() {
  # probe URL: "yes" when it answers 200, else "no".
  if http_ok "$1" >/dev/null 2>&1; then echo yes; else echo no; fi
}

status() {
  # Each process, and for the workers and nginx what they answer: a worker live (GET /livez: the process
  # answers) but not ready (GET /readyz: it cannot take commands now) is up but kept out of nginx's rotation.
  [ -f "$STATE" ] || { echo "no stack in $STACK_DIR"; return 1; }
  local pidfile name running=0 state health ports
  cat "$STATE"
  # shellcheck disable=SC1090
  ports=$(. "$STATE"; echo "$STACK_APP_PORTS")
  read -r -a ports <<<"$ports"
  for pidfile in "$STACK_DIR"/pids/*.pid; do
    [ -f "$pidfile" ] || continue
    name=$(basename "$pidfile" .pid)
    if alive "$pidfile"; then running=$((running + 1)); state=running; else state=stopped; fi
    health=""
    case "$name" in
      app*) local port=${ports[$((${name#app} - 1))]}
            health="live=$(probe "http://127.0.0.1:$port/livez") ready=$(probe "http://127.0.0.1:$port$READY_PATH")" ;;
      nginx) health="live=$(probe "$(. "$STATE"; echo "$STACK_URL")/nginx-health")" ;;
    esac
    printf '%-8s pid %-8s %-8s %s' "$name" "$(cat "$pidfile")" "$state" "$health" | sed 's/ *$//'
    echo
  done
  [ $running -gt 0 ]
}

stop_pid() {
  # TERM, then KILL after 10 s: only the process `up` started (its pid file), never by name.
  local pidfile=$1 pid i
  alive "$pidfile" || return 0
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

down() {
  [ -d "$STACK_DIR/pids" ] || { echo "no stack in $STACK_DIR"; return 0; }
  local pidfile
  # nginx first (no new traffic), then the workers (they hand their meetings over), then Redis.
  # Wait for the stopping jobs only: when `up` fails, its own children (the processes it started) are
  # still running, and a bare `wait` would wait for them too.
  local jobs=()
  [ -f "$STACK_DIR/pids/nginx.pid" ] && stop_pid "$STACK_DIR/pids/nginx.pid"
  for pidfile in "$STACK_DIR"/pids/app*.pid; do [ -f "$pidfile" ] && { stop_pid "$pidfile" & jobs+=($!); }; done
  [ ${#jobs[@]} -eq 0 ] || wait "${jobs[@]}"
  jobs=()
  for pidfile in "$STACK_DIR"/pids/redis*.pid; do [ -f "$pidfile" ] && { stop_pid "$pidfile" & jobs+=($!); }; done
  [ ${#jobs[@]} -eq 0 ] || wait "${jobs[@]}"
  rm -rf "$STACK_DIR/pids" "$STACK_DIR/redis" "$STACK_DIR/nginx" "$STATE" "$STATE.tmp"
  echo "stack down (logs kept in $STACK_DIR/logs)"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  status) status ;;
  *) die "usage: scripts/stack.sh up N [--cluster] | status | down" ;;
esac
