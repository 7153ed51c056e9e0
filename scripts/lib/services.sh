# shellcheck shell=bash
# The local instance run by `up`: its settings, the Plumb services and the demo account.

# Written by `up` (mode 600): the settings the services got, for `env` and `status`.
STATE_FILE_VARS=(PLUMB_COLLECTOR_URL PLUMB_DASHBOARD_URL PLUMB_PG_DSN PLUMB_REDIS_URL
  PLUMB_COLLECTOR_LISTEN PLUMB_DASHBOARD_LISTEN PLUMB_PG_PORT PLUMB_REDIS_PORT)
# Seconds a service gets to answer /healthz after it was started, and to exit on SIGTERM.
HEALTH_TIMEOUT=30
STOP_TIMEOUT=10

# load_settings: defaults for the local instance, each overridden by a PLUMB_* variable that is
# already set. Exports what the services and plumbctl read; needs the generated secrets.
load_settings() {
  : "${PLUMB_PG_PORT:=55432}"
  : "${PLUMB_REDIS_PORT:=56379}"
  : "${PLUMB_COLLECTOR_PORT:=8480}"
  : "${PLUMB_DASHBOARD_PORT:=8490}"
  check_port PLUMB_PG_PORT "$PLUMB_PG_PORT"
  check_port PLUMB_REDIS_PORT "$PLUMB_REDIS_PORT"
  check_port PLUMB_COLLECTOR_PORT "$PLUMB_COLLECTOR_PORT"
  check_port PLUMB_DASHBOARD_PORT "$PLUMB_DASHBOARD_PORT"
  local pg_password redis_password
  pg_password=$(read_secret "$SECRETS_DIR/pg-password")
  redis_password=$(read_secret "$SECRETS_DIR/redis-password")
  : "${PLUMB_PG_DSN:=postgresql://plumb:$pg_password@127.0.0.1:$PLUMB_PG_PORT/plumb}"
  : "${PLUMB_REDIS_URL:=redis://:$redis_password@127.0.0.1:$PLUMB_REDIS_PORT/0}"
  # The dashboard signs in as plumb_dashboard, the role row-level security applies to.
  : "${PLUMB_DASHBOARD_PG_DSN:=postgresql://plumb_dashboard:$(read_secret "$SECRETS_DIR/pg-dashboard-password")@127.0.0.1:$PLUMB_PG_PORT/plumb}"
  : "${PLUMB_COLLECTOR_LISTEN:=127.0.0.1:$PLUMB_COLLECTOR_PORT}"
  : "${PLUMB_DASHBOARD_LISTEN:=127.0.0.1:$PLUMB_DASHBOARD_PORT}"
  : "${PLUMB_COLLECTOR_URL:=http://127.0.0.1:$PLUMB_COLLECTOR_PORT}"
  : "${PLUMB_DASHBOARD_URL:=http://127.0.0.1:$PLUMB_DASHBOARD_PORT}"
  : "${PLUMB_SPOOL_DIR:=$VAR_DIR/spool/collector}"
  : "${PLUMB_GEOIP_DB:=$GEOIP_DB}"
  export PLUMB_PG_DSN PLUMB_REDIS_URL PLUMB_COLLECTOR_LISTEN PLUMB_DASHBOARD_LISTEN \
    PLUMB_COLLECTOR_URL PLUMB_DASHBOARD_URL PLUMB_SPOOL_DIR PLUMB_GEOIP_DB
}

save_state() {
  local var
  (umask 077 && for var in "${STATE_FILE_VARS[@]}"; do
    printf '%s=%s\n' "$var" "${!var}"
  done >"$STATE_FILE")
}

# load_state: sets the variables saved by the last `up`; false when there is no state.
load_state() {
  local key value
  [[ -r $STATE_FILE ]] || return 1
  while IFS='=' read -r key value; do
    if [[ " ${STATE_FILE_VARS[*]} " == *" $key "* ]]; then
      printf -v "$key" '%s' "$value"
    fi
  done <"$STATE_FILE"
}

# ---------------------------------------------------------------------------------------------
# Services: collector, worker-<i>, dashboard; pid files in var/run, logs in var/log.

service_binary() {
  case $1 in
    collector) printf '%s' "$BUILD_DIR/services/collector/plumb-collector" ;;
    dashboard) printf '%s' "$BUILD_DIR/services/dashboard/plumb-dashboard" ;;
    worker-*) printf '%s' "$BUILD_DIR/services/worker/plumb-worker" ;;
    *) die "unknown service $1" ;;
  esac
}

# service_pid NAME: the pid of the running service NAME, or nothing.
service_pid() {
  local pid
  pid=$(read_pid "$RUN_DIR/$1.pid")
  [[ -n $pid ]] && cmdline_has "$pid" "$(basename "$(service_binary "$1")")" && printf '%s' "$pid"
  return 0
}

# service_names: every service with a pid file, in start order.
service_names() {
  local file name
  local -a worker_names=()
  [[ -e $RUN_DIR/collector.pid ]] && printf '%s\n' collector
  for file in "$RUN_DIR"/worker-*.pid; do
    [[ -e $file ]] || continue
    name=$(basename "$file" .pid)
    worker_names+=("$name")
  done
  ((${#worker_names[@]} == 0)) || printf '%s\n' "${worker_names[@]}" | sort -t- -k2,2n
  [[ -e $RUN_DIR/dashboard.pid ]] && printf '%s\n' dashboard
  return 0
}

stop_services() {
  local name pid
  local -a pids=()
  for name in $(service_names); do
    pid=$(service_pid "$name")
    if [[ -n $pid ]]; then
      note "stopping $name (pid $pid)"
      pids+=("$pid")
    fi
  done
  terminate "$STOP_TIMEOUT" "${pids[@]}"
  rm -f "$RUN_DIR"/*.pid
}

# start_service NAME [VAR=VALUE...]: starts NAME in the background with the extra variables.
start_service() {
  local name=$1 bin log=$LOG_DIR/$1.log
  shift
  bin=$(service_binary "$name")
  [[ -x $bin ]] || die "$(rel "$bin") not found: the build did not produce it"
  if [[ -n ${LOCK_FD:-} ]]; then
    nohup env "$@" "$bin" </dev/null >>"$log" 2>&1 {LOCK_FD}>&- &
  else
    nohup env "$@" "$bin" </dev/null >>"$log" 2>&1 &
  fi
  printf '%s\n' "$!" >"$RUN_DIR/$name.pid"
  note "started $name (pid $!, log $(rel "$log"))"
}

# wait_healthy NAME URL: waits until URL/healthz answers; dies with the log tail otherwise.
wait_healthy() {
  local name=$1 url=$2 pid deadline=$((SECONDS + HEALTH_TIMEOUT))
  pid=$(read_pid "$RUN_DIR/$name.pid")
  until curl -fsS --max-time 2 -o /dev/null "$url/healthz" 2>/dev/null; do
    if ! pid_alive "$pid"; then
      show_log_tail "$LOG_DIR/$name.log"
      die "$name exited during startup (log: $(rel "$LOG_DIR/$name.log"))"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$LOG_DIR/$name.log"
      die "$name did not answer $url/healthz within $HEALTH_TIMEOUT s"
    fi
    sleep 0.2
  done
}

# start_services WORKERS: collector, WORKERS workers and the dashboard, each checked.
start_services() {
  local workers=$1 i port
  for port in "${PLUMB_COLLECTOR_LISTEN##*:}" "${PLUMB_DASHBOARD_LISTEN##*:}"; do
    if port_busy "$port"; then die "port $port on 127.0.0.1 is already in use by another program"; fi
  done
  start_service collector
  for ((i = 1; i <= workers; i++)); do
    start_service "worker-$i" "PLUMB_WORKER_NAME=worker-$i"
  done
  start_service dashboard "PLUMB_PG_DSN=$PLUMB_DASHBOARD_PG_DSN" \
    "PLUMB_DASHBOARD_SECRET_FILE=$SECRETS_DIR/dashboard-secret"
  wait_healthy collector "$PLUMB_COLLECTOR_URL"
  wait_healthy dashboard "$PLUMB_DASHBOARD_URL"
  sleep 1
  for ((i = 1; i <= workers; i++)); do
    if [[ -z $(service_pid "worker-$i") ]]; then
      show_log_tail "$LOG_DIR/worker-$i.log"
      die "worker-$i exited during startup (log: $(rel "$LOG_DIR/worker-$i.log"))"
    fi
  done
}

# plumbctl ARGS...: the admin CLI from the build, with the exported settings.
plumbctl() {
  local bin=$BUILD_DIR/services/plumbctl/plumbctl
  [[ -x $bin ]] || die "$(rel "$bin") not found: the build did not produce it"
  "$bin" "$@"
}

# Demo history: DEMO_HISTORY_DAYS days up to yesterday, stored once (marker: DEMO_HISTORY_MARK), so
# a first login shows charts and breakdowns with some substance.
DEMO_HISTORY_DAYS=90
DEMO_HISTORY_EVENTS=60000
# Beside the cluster it describes: a new cluster gets the history again.
DEMO_HISTORY_MARK=$VAR_DIR/pg/demo-history-loaded

# setup_demo: demo account, site, API key and history; safe to repeat (key and history are made
# once).
setup_demo() {
  local password keyfile=$SECRETS_DIR/demo-api-key
  ensure_secret "$SECRETS_DIR/demo-password"
  password=$(read_secret "$SECRETS_DIR/demo-password")
  plumbctl account create --email demo@plumb.local --password "$password" --exists-ok >/dev/null ||
    die "plumbctl account create failed"
  plumbctl site create demo.plumb.local --tz Europe/Berlin --account demo@plumb.local \
    --exists-ok >/dev/null || die "plumbctl site create failed"
  if [[ ! -s $keyfile ]]; then
    if ! (umask 077 && plumbctl api-key create --account demo@plumb.local >"$keyfile.tmp"); then
      rm -f "$keyfile.tmp"
      die "plumbctl api-key create failed"
    fi
    mv -f "$keyfile.tmp" "$keyfile"
  fi
  if [[ ! -f $DEMO_HISTORY_MARK ]]; then
    say "storing $DEMO_HISTORY_DAYS days of generated demo history"
    plumbctl gen --bulk --site demo.plumb.local --events "$DEMO_HISTORY_EVENTS" \
      --days "$DEMO_HISTORY_DAYS" --start "$(date -u -d "$DEMO_HISTORY_DAYS days ago" +%F)" \
      --tail-pages 300 >/dev/null || die "plumbctl gen --bulk (demo history) failed"
    touch "$DEMO_HISTORY_MARK"
  fi
}
