# shellcheck shell=bash
# `scripts/plumb bench …`: benchmarks that measure Plumb against a baseline in the same run and
# end with one line per figure:
#   BENCH name=<id> value=<number> unit=<unit> baseline=<number> ratio=<number> target=<text>

BENCH_PACKAGES=(wrk nginx-light)
# Each configuration is measured this many times, alternating, and the median is reported:
# machines are shared and noisy.
BENCH_RUNS=${PLUMB_BENCH_RUNS:-3}
BENCH_SECONDS=${PLUMB_BENCH_SECONDS:-10}
BENCH_CONNECTIONS=64
# Server under test on one core, load generator on the other (the machine has two).
SERVER_CORE=1
CLIENT_CORE=0

# median NUMBERS...: the median (lower middle for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# to_ms VALUE: wrk latency ("812.00us", "1.20ms", "2.01s") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}

# cpu_ticks PID: user + system CPU time the process (all its threads) has used, in clock ticks.
cpu_ticks() {
  # Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the command name.
  sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# wrk_run URL SCRIPT [SECONDS [SERVER_PID]]: runs wrk pinned to the client core; prints
# "rps p50_ms p99_ms cpu_us_per_request", the last from SERVER_PID's CPU time over the run
# (0 without SERVER_PID). On a shared machine CPU per request is the steadier figure: the
# throughput also measures whoever else holds the server's core.
wrk_run() {
  local url=$1 script=$2 seconds=${3:-$BENCH_SECONDS} server_pid=${4:-} out rps p50 p99 requests
  local ticks_before=0 ticks_after=0 cpu_us=0
  [[ -z $server_pid ]] || ticks_before=$(cpu_ticks "$server_pid")
  out=$(taskset -c "$CLIENT_CORE" wrk -t1 -c"$BENCH_CONNECTIONS" -d"${seconds}s" --latency \
    -s "$script" "$url")
  [[ -z $server_pid ]] || ticks_after=$(cpu_ticks "$server_pid")
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  requests=$(awk '/ requests in / { print $1 }' <<<"$out")
  [[ -n $rps && -n $requests ]] || die "wrk printed no result for $url: $out"
  if [[ -n $server_pid ]] && ((requests > 0)); then
    cpu_us=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
      'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
  fi
  printf '%s %s %s %s\n' "$rps" "$p50" "$p99" "$cpu_us"
}

# bench_line NAME VALUE UNIT BASELINE TARGET: the BENCH line, ratio = value / baseline.
bench_line() {
  local ratio
  ratio=$(awk -v v="$2" -v b="$4" 'BEGIN { printf (b > 0 ? "%.3f" : "0"), (b > 0 ? v / b : 0) }')
  printf 'BENCH name=%s value=%s unit=%s baseline=%s ratio=%s target=%s\n' "$1" "$2" "$3" "$4" "$ratio" "$5"
}

# bench_collector: the collector (with Redis) against nginx answering `return 202`, same core.
bench_collector() {
  local dir nginx_port collector_port prefix redis_port redis_url pid nginx_pid
  local -a nginx_rps=() collector_rps=() collector_p50=() collector_p99=() nginx_cpu=() collector_cpu=()
  ensure_packages "${PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
  build_release
  ensure_npm_packages "$GEOIP_PACKAGE_DIR"
  start_test_datastores redis-only
  # Redis on the client's core with wrk, every thread of it: left to the scheduler it moves to the
  # server core now and then, where it takes CPU from the collector under test.
  taskset -a -cp "$CLIENT_CORE" "$(redis_pid "$TEST_DIR/redis")" >/dev/null
  dir=$TEST_DIR/bench
  mkdir -p "$dir"
  redis_port=${PLUMB_TEST_REDIS_URL##*:}
  redis_port=${redis_port%%/*}
  redis_url=$PLUMB_TEST_REDIS_URL
  prefix="bench:"
  redis_cli "$redis_port" "$TEST_DIR/secrets/redis-password" \
    HSET "${prefix}sites" bench.example '{"id":1,"tz":"UTC"}' >/dev/null

  nginx_port=$(random_free_port)
  cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $dir/nginx-error.log;
pid $dir/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 202 "ok"; }
  }
}
CONF
  taskset -c "$SERVER_CORE" nginx -c "$dir/nginx.conf" -p "$dir" &
  nginx_pid=$!

  collector_port=$(random_free_port "$nginx_port")
  PLUMB_REDIS_URL=$redis_url PLUMB_REDIS_PREFIX=$prefix PLUMB_COLLECTOR_IO_THREADS=1 \
    PLUMB_COLLECTOR_LISTEN=127.0.0.1:$collector_port PLUMB_SPOOL_DIR=$dir/spool PLUMB_GEOIP_DB=$GEOIP_DB \
    taskset -c "$SERVER_CORE" "$BUILD_DIR/services/collector/plumb-collector" 2>"$dir/collector.log" &
  pid=$!
  wait_http "http://127.0.0.1:$collector_port/healthz" || die "the collector did not start: $(tail -5 "$dir/collector.log")"
  wait_http "http://127.0.0.1:$nginx_port/" || die "nginx did not start"

  cat >"$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"n":"pageview","u":"https://bench.example/pricing","d":"bench.example","r":"https://www.google.com/","w":1440}'
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
LUA
  say "benchmark: collector vs nginx, ${BENCH_RUNS}× ${BENCH_SECONDS}s each, $BENCH_CONNECTIONS connections"
  local run result redis_ticks
  redis_ticks=$(cpu_ticks "$(redis_pid "$TEST_DIR/redis")")
  for ((run = 1; run <= BENCH_RUNS; run++)); do
    read -r -a result < <(wrk_run "http://127.0.0.1:$nginx_port/api/event" "$dir/post.lua" "$BENCH_SECONDS" "$nginx_pid")
    nginx_rps+=("${result[0]}")
    nginx_cpu+=("${result[3]}")
    read -r -a result < <(wrk_run "http://127.0.0.1:$collector_port/api/event" "$dir/post.lua" "$BENCH_SECONDS" "$pid")
    collector_rps+=("${result[0]}")
    collector_p50+=("${result[1]}")
    collector_p99+=("${result[2]}")
    collector_cpu+=("${result[3]}")
    note "run $run: nginx ${nginx_rps[-1]} req/s (${nginx_cpu[-1]} CPU-us/req), collector ${result[0]} req/s (${result[3]} CPU-us/req, p50 ${result[1]} ms, p99 ${result[2]} ms)"
  done

  # Latency at half the collector's peak: each connection waits between requests so that all of
  # them together offer about half the peak rate (wrk 4 has no fixed-rate mode).
  local peak half delay_ms half_result
  peak=$(median "${collector_rps[@]}")
  half=$(awk -v p="$peak" 'BEGIN { printf "%d", p / 2 }')
  delay_ms=$(awk -v c="$BENCH_CONNECTIONS" -v r="$half" 'BEGIN { printf "%d", c * 1000 / r }')
  { cat "$dir/post.lua"; printf 'function delay() return %s end\n' "$delay_ms"; } >"$dir/paced.lua"
  read -r -a half_result < <(wrk_run "http://127.0.0.1:$collector_port/api/event" "$dir/paced.lua")
  note "paced run: ${half_result[0]} req/s offered ~$half, p50 ${half_result[1]} ms, p99 ${half_result[2]} ms"

  local rss_mb appended redis_us
  rss_mb=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
  appended=$(curl -fsS "http://127.0.0.1:$collector_port/metrics" | awk '/^plumb_collector_appended_total / { print $2 }')
  # Redis's own CPU per event over every collector run (it idles through nginx's): the share of
  # the one Redis that all collectors append to.
  redis_us=$(awk -v t=$(($(cpu_ticks "$(redis_pid "$TEST_DIR/redis")") - redis_ticks)) \
    -v hz="$(getconf CLK_TCK)" -v n="$appended" 'BEGIN { printf "%.2f", (n > 0 ? t * 1e6 / hz / n : 0) }')
  note "collector peak RSS ${rss_mb} MB; events appended to Redis: $appended, Redis CPU ${redis_us} us per event"
  kill "$pid" "$nginx_pid" 2>/dev/null || true
  wait "$pid" "$nginx_pid" 2>/dev/null || true

  bench_line collector_vs_nginx "$(median "${collector_rps[@]}")" req/s "$(median "${nginx_rps[@]}")" ">=0.5x_nginx"
  # Twice nginx's CPU per request is what 0.5 x nginx's throughput means on a core of its own.
  bench_line collector_cpu_per_request "$(median "${collector_cpu[@]}")" us "$(median "${nginx_cpu[@]}")" "<=2x_nginx"
  bench_line collector_p50_at_peak "$(median "${collector_p50[@]}")" ms 0 "info"
  bench_line collector_p99_at_half_peak "${half_result[2]}" ms 0 "<=10ms"
  bench_line collector_peak_rss "$rss_mb" MB 0 "<=64MB"
  bench_line redis_cpu_per_event "$redis_us" us 0 "info"
}

# ---------------------------------------------------------------------------------------------
# bench_worker: stream → workers → PostgreSQL, against COPY of the same rows (docs/BENCHMARKS.md).

BENCH_WORKER_COUNTS=(1 2 4)
BENCH_WORKER_EVENTS=${PLUMB_BENCH_EVENTS:-1000000}
BENCH_WORKER_SITES=10
# Live runs: events/s over all sites for freshness; per ordinary site in the fairness run, where
# the flood site sends BENCH_FLOOD_FACTOR times that: 9 × 1,000 + 20,000 = 29,000 events/s, more
# than two workers drain, so the flood builds a backlog and fairness has to keep the others fresh.
BENCH_LIVE_RATE=1000
BENCH_SITE_RATE=${PLUMB_BENCH_SITE_RATE:-1000}
BENCH_FLOOD_FACTOR=20
# Seconds a drain may take before the run is declared stuck (1M events at 1,000/s is 1,000 s).
BENCH_DRAIN_TIMEOUT=${PLUMB_BENCH_DRAIN_TIMEOUT:-3600}

# bench_psql DATABASE SQL: one query against the test cluster, unaligned tuples only.
bench_psql() {
  PGPASSWORD=$(read_secret "$BENCH_PG_PASSWORD_FILE") PGOPTIONS="-c client_min_messages=warning" \
    "$PG_BIN/psql" -h 127.0.0.1 \
    -p "$BENCH_PG_PORT" -U plumb -d "$1" -XtAq -v ON_ERROR_STOP=1 -c "$2"
}

# bench_plumbctl DATABASE PREFIX ARGS...: the release plumbctl against DATABASE and PREFIX.
bench_plumbctl() {
  local db=$1 prefix=$2
  shift 2
  PLUMB_PG_DSN=$(bench_dsn "$db") PLUMB_REDIS_URL=$PLUMB_TEST_REDIS_URL PLUMB_REDIS_PREFIX=$prefix \
    PLUMB_LOG_LEVEL=warn "$BUILD_DIR/services/plumbctl/plumbctl" "$@"
}

bench_dsn() { printf '%s' "${PLUMB_TEST_PG_DSN%/postgres}/$1"; }

# bench_site NUMBER: the domain of bench site NUMBER (1-based).
bench_site() { printf 'site%02d.bench.example' "$1"; }

# bench_db DATABASE PREFIX [SITES]: a fresh database with the schema, one account and SITES UTC
# sites (default BENCH_WORKER_SITES), named by bench_site.
bench_db() {
  local db=$1 prefix=$2 sites=${3:-$BENCH_WORKER_SITES} i
  bench_psql postgres "DROP DATABASE IF EXISTS $db" >/dev/null
  bench_psql postgres "CREATE DATABASE $db" >/dev/null
  bench_plumbctl "$db" "$prefix" migrate >/dev/null || die "plumbctl migrate failed"
  bench_plumbctl "$db" "$prefix" account create --email bench@plumb.local --password bench-password \
    >/dev/null || die "plumbctl account create failed"
  for ((i = 1; i <= sites; i++)); do
    bench_plumbctl "$db" "$prefix" site create "$(bench_site "$i")" --tz UTC \
      --account bench@plumb.local >/dev/null || die "plumbctl site create failed"
  done
}

# bench_site_args [FIRST [LAST]]: --site flags for bench sites FIRST..LAST (default all).
bench_site_args() {
  local i
  for ((i = ${1:-1}; i <= ${2:-$BENCH_WORKER_SITES}; i++)); do printf -- '--site\n%s\n' "$(bench_site "$i")"; done
}

# Clock ticks per second of /proc/<pid>/stat times.
CLK_TCK=$(getconf CLK_TCK)

# proc_ticks PID [WITH_CHILDREN]: utime+stime of PID (plus cutime+cstime, the reaped children's,
# when WITH_CHILDREN=1); 0 when it is gone. The command name is cut off first: it may hold spaces.
proc_ticks() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { printf '0'; return 0; }
  awk -v c="${2:-0}" '{ print $12 + $13 + (c ? $14 + $15 : 0) }' <<<"${stat##*) }"
}

# pg_cluster_ticks: CPU ticks used by the test cluster so far: the postmaster with every child it
# has reaped (exited backends) plus every live child (backends, checkpointer, WAL writer, ...).
pg_cluster_ticks() {
  local postmaster child total
  postmaster=$(pg_pid "$TEST_DIR/pg")
  total=$(proc_ticks "$postmaster" 1)
  for child in $(ps --ppid "$postmaster" -o pid=); do
    total=$((total + $(proc_ticks "$child")))
  done
  printf '%s' "$total"
}

# bench_start_workers COUNT DATABASE PREFIX: starts COUNT workers; sets BENCH_WORKER_PIDS and
# BENCH_WORKER_PORTS (their /metrics ports).
bench_start_workers() {
  local count=$1 db=$2 prefix=$3 i port
  BENCH_WORKER_PIDS=()
  BENCH_WORKER_PORTS=()
  for ((i = 1; i <= count; i++)); do
    port=$(random_free_port "${BENCH_WORKER_PORTS[@]}")
    PLUMB_PG_DSN=$(bench_dsn "$db") PLUMB_REDIS_URL=$PLUMB_TEST_REDIS_URL PLUMB_REDIS_PREFIX=$prefix \
      PLUMB_WORKER_NAME=bench-$i PLUMB_WORKER_LISTEN=127.0.0.1:$port PLUMB_LOG_LEVEL=warn \
      "$BUILD_DIR/services/worker/plumb-worker" >>"$BENCH_DIR/worker-$db-$i.log" 2>&1 &
    BENCH_WORKER_PIDS+=("$!")
    BENCH_WORKER_PORTS+=("$port")
  done
}

bench_stop_workers() {
  terminate "$STOP_TIMEOUT" "${BENCH_WORKER_PIDS[@]}"
  wait "${BENCH_WORKER_PIDS[@]}" 2>/dev/null || true
  BENCH_WORKER_PIDS=()
}

# bench_workers_alive: dies with a log tail when a worker has exited.
bench_workers_alive() {
  local pid
  for pid in "${BENCH_WORKER_PIDS[@]}"; do
    pid_alive "$pid" || {
      show_log_tail "$(ls -t "$BENCH_DIR"/worker-*.log | head -1)"
      die "a worker (pid $pid) exited during the benchmark"
    }
  done
}

# stream_drained PREFIX: true when the workers' consumer group has read every entry of the ingest
# stream and of the deferred stream (where a backlogged site's excess waits; absent until used)
# (lag 0) and acknowledged them all (pending 0); a worker acknowledges after its commit.
stream_drained() {
  local info stream
  for stream in "${1}events" "${1}events:deferred"; do
    info=$(redis_cli "$BENCH_REDIS_PORT" "$TEST_DIR/secrets/redis-password" XINFO GROUPS "$stream" 2>/dev/null) ||
      return 1
    [[ $info == *"no such key"* || $info == *"ERR"* ]] && continue
    awk 'NR % 2 == 1 { k = $0; next } { v[k] = $0 } END { exit !(v["lag"] == "0" && v["pending"] == "0") }' <<<"$info" ||
      return 1
  done
}

# worker_metrics_p95 METRIC: p95 of the histogram METRIC summed over the running workers' /metrics,
# interpolated linearly inside the bucket that holds it (upper bound when it is in +Inf).
worker_metrics_p95() {
  local port
  for port in "${BENCH_WORKER_PORTS[@]}"; do
    curl -fsS "http://127.0.0.1:$port/metrics" || die "worker /metrics on port $port did not answer"
  done | awk -v m="$1" '
    index($0, m "_bucket{") == 1 {
      le = $0; sub(/.*le="/, "", le); sub(/".*/, "", le)
      c[le] += $NF
    }
    END {
      n = 0
      for (le in c) { b[++n] = (le == "+Inf" ? 1e300 : le + 0); cnt[b[n]] = c[le] }
      # insertion sort of the bounds
      for (i = 2; i <= n; i++) { x = b[i]; j = i - 1; while (j > 0 && b[j] > x) { b[j + 1] = b[j]; j-- } b[j + 1] = x }
      total = cnt[b[n]]
      if (total == 0) { print "nan"; exit }
      want = 0.95 * total; lo = 0; prev = 0
      for (i = 1; i <= n; i++) {
        if (cnt[b[i]] >= want) {
          if (b[i] == 1e300) { printf "%.3f\n", lo; exit }
          frac = (cnt[b[i]] > prev) ? (want - prev) / (cnt[b[i]] - prev) : 1
          printf "%.3f\n", lo + (b[i] - lo) * frac; exit
        }
        lo = b[i]; prev = cnt[b[i]]
      }
    }'
}

# bench_worker_drain WORKERS RUN: one throughput measurement on a fresh database; appends to
# BENCH_RATE_<WORKERS> and BENCH_CPU_<WORKERS>; leaves the database for the COPY baseline.
bench_worker_drain() {
  local workers=$1 run=$2 db prefix total started ended pg_before pg_after worker_ticks pid
  local elapsed rate cpu_per_million redis_before redis_after
  db=bench_w${workers}_r$run
  prefix="bw$workers-r$run:"
  bench_db "$db" "$prefix"
  mapfile -t site_args < <(bench_site_args)
  # A fixed seed and start (the UTC day a week ago): every run of the day drains the same events.
  total=$(bench_plumbctl "$db" "$prefix" gen "${site_args[@]}" --events "$BENCH_WORKER_EVENTS" \
    --seed 1 --days 7 --start "$(date -u -d '7 days ago' +%F)" | sed -n 's/^{"events":\([0-9]*\),.*/\1/p')
  [[ -n $total ]] || die "plumbctl gen failed"
  pg_before=$(pg_cluster_ticks)
  redis_before=$(proc_ticks "$(redis_pid "$TEST_DIR/redis")")
  started=$(date +%s.%N)
  bench_start_workers "$workers" "$db" "$prefix"
  until stream_drained "$prefix"; do
    bench_workers_alive
    awk -v s="$started" -v n="$(date +%s.%N)" -v t="$BENCH_DRAIN_TIMEOUT" 'BEGIN { exit !(n - s > t) }' &&
      die "the workers did not drain $total events within $BENCH_DRAIN_TIMEOUT s"
    sleep 0.1
  done
  ended=$(date +%s.%N)
  pg_after=$(pg_cluster_ticks)
  redis_after=$(proc_ticks "$(redis_pid "$TEST_DIR/redis")")
  worker_ticks=0
  for pid in "${BENCH_WORKER_PIDS[@]}"; do worker_ticks=$((worker_ticks + $(proc_ticks "$pid"))); done
  bench_stop_workers
  BENCH_ROWS=$(bench_psql "$db" "SELECT count(*) FROM events")
  ((BENCH_ROWS == total)) || die "the workers stored $BENCH_ROWS of $total events: a drain check missed some"
  elapsed=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.3f", b - a }')
  rate=$(awk -v n="$total" -v e="$elapsed" 'BEGIN { printf "%.0f", n / e }')
  cpu_per_million=$(awk -v w="$worker_ticks" -v p="$((pg_after - pg_before))" -v hz="$CLK_TCK" -v n="$total" \
    'BEGIN { printf "%.1f", (w + p) / hz * 1e6 / n }')
  note "run $run, $workers worker(s): $total events in $elapsed s = $rate events/s; $BENCH_ROWS rows in events;" \
    "CPU workers $(awk -v t="$worker_ticks" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", t / hz }') s +" \
    "PostgreSQL $(awk -v t="$((pg_after - pg_before))" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", t / hz }') s" \
    "= $cpu_per_million CPU-s per million events (Redis, not included:" \
    "$(awk -v t="$((redis_after - redis_before))" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", t / hz }') s)"
  eval "BENCH_RATE_$workers+=(\"\$rate\")"
  eval "BENCH_CPU_$workers+=(\"\$cpu_per_million\")"
  BENCH_LAST_DB=$db
}

# bench_copy_baseline DATABASE: COPY of DATABASE's events rows into a plain table without keys or
# indexes; appends rows/s to BENCH_COPY_RATES. Both directions through psql \copy (client side,
# like the workers' COPY); only the load is timed.
bench_copy_baseline() {
  local db=$1 file=$BENCH_DIR/events.copy started ended rows
  bench_psql "$db" "\\copy (SELECT * FROM events) TO '$file'"
  bench_psql "$db" "DROP TABLE IF EXISTS copy_baseline; CREATE TABLE copy_baseline (LIKE events)"
  bench_psql "$db" "CHECKPOINT" >/dev/null
  started=$(date +%s.%N)
  bench_psql "$db" "\\copy copy_baseline FROM '$file'"
  ended=$(date +%s.%N)
  rows=$(bench_psql "$db" "SELECT count(*) FROM copy_baseline")
  rm -f "$file"
  BENCH_COPY_RATES+=("$(awk -v n="$rows" -v a="$started" -v b="$ended" 'BEGIN { printf "%.0f", n / (b - a) }')")
  note "COPY baseline: $rows rows at ${BENCH_COPY_RATES[-1]} rows/s"
}

# bench_live_db NAME: database, prefix and 2 workers for a live run; sets BENCH_LIVE_DB/PREFIX.
bench_live_start() {
  BENCH_LIVE_DB=$1
  BENCH_LIVE_PREFIX="$1:"
  bench_db "$BENCH_LIVE_DB" "$BENCH_LIVE_PREFIX"
  bench_start_workers 2 "$BENCH_LIVE_DB" "$BENCH_LIVE_PREFIX"
  sleep 1
  bench_workers_alive
}

bench_worker() {
  local workers run
  local -a site_args=()
  BENCH_COPY_RATES=()
  BENCH_RATE_1=() BENCH_RATE_2=() BENCH_RATE_4=()
  BENCH_CPU_1=() BENCH_CPU_2=() BENCH_CPU_4=()
  BENCH_WORKER_PIDS=()
  ensure_packages "${PACKAGES[@]}"
  build_release
  start_test_datastores
  BENCH_DIR=$TEST_DIR/bench
  mkdir -p "$BENCH_DIR"
  BENCH_PG_PORT=$(pg_port "$TEST_DIR/pg")
  BENCH_PG_PASSWORD_FILE=$TEST_DIR/secrets/pg-password
  BENCH_REDIS_PORT=${PLUMB_TEST_REDIS_URL##*:}
  BENCH_REDIS_PORT=${BENCH_REDIS_PORT%%/*}
  trap 'bench_stop_workers; cleanup_test_datastores' EXIT

  say "benchmark: workers draining $BENCH_WORKER_EVENTS events (10 sites, 7 days) vs COPY, ${BENCH_RUNS}× each"
  for ((run = 1; run <= BENCH_RUNS; run++)); do
    for workers in "${BENCH_WORKER_COUNTS[@]}"; do
      bench_worker_drain "$workers" "$run"
      if ((workers == 1)); then bench_copy_baseline "$BENCH_LAST_DB"; fi
      bench_psql postgres "DROP DATABASE $BENCH_LAST_DB" >/dev/null
      # The stream and the visit state of this configuration: every configuration starts from an
      # empty Redis (this one is the benchmark's own), not from gigabytes of earlier state.
      redis_cli "$BENCH_REDIS_PORT" "$TEST_DIR/secrets/redis-password" FLUSHDB >/dev/null
    done
  done

  # Freshness: 2 workers, BENCH_LIVE_RATE events/s for BENCH_SECONDS, p95 of their histograms.
  local live_seconds=${PLUMB_BENCH_SECONDS:-30} freshness
  say "freshness: 2 workers, $BENCH_LIVE_RATE events/s for $live_seconds s"
  bench_live_start bench_fresh
  mapfile -t site_args < <(bench_site_args)
  bench_plumbctl "$BENCH_LIVE_DB" "$BENCH_LIVE_PREFIX" gen "${site_args[@]}" \
    --events $((BENCH_LIVE_RATE * live_seconds)) --live "$BENCH_LIVE_RATE" >/dev/null || die "plumbctl gen --live failed"
  sleep 3  # the last batches: at most one batch wait plus a commit
  freshness=$(worker_metrics_p95 plumb_worker_freshness_seconds)
  note "freshness p95 $freshness s"
  bench_stop_workers

  # Fairness: site 1 floods at BENCH_FLOOD_FACTOR× while sites 2..10 each send BENCH_SITE_RATE.
  # Every second, lag = now() - newest received_at stored for sites 2..10 (PK-indexed per site).
  local flood_rate=$((BENCH_SITE_RATE * BENCH_FLOOD_FACTOR)) others_rate=$((BENCH_SITE_RATE * (BENCH_WORKER_SITES - 1)))
  local flood_pid others_pid flood_id fairness flood_freshness
  local -a lags=()
  say "fairness: $(bench_site 1) at $flood_rate events/s, 9 sites at $BENCH_SITE_RATE events/s each, $live_seconds s"
  bench_live_start bench_fair
  flood_id=$(bench_psql "$BENCH_LIVE_DB" "SELECT id FROM sites WHERE domain = '$(bench_site 1)'")
  mapfile -t site_args < <(bench_site_args 2)
  bench_plumbctl "$BENCH_LIVE_DB" "$BENCH_LIVE_PREFIX" gen --site "$(bench_site 1)" \
    --events $((flood_rate * live_seconds)) --live "$flood_rate" --seed 2 >/dev/null &
  flood_pid=$!
  bench_plumbctl "$BENCH_LIVE_DB" "$BENCH_LIVE_PREFIX" gen "${site_args[@]}" \
    --events $((others_rate * live_seconds)) --live "$others_rate" --seed 3 >/dev/null &
  others_pid=$!
  sleep 2  # warm-up: the first batches
  while pid_alive "$others_pid" || pid_alive "$flood_pid"; do
    lags+=("$(bench_psql "$BENCH_LIVE_DB" "SELECT round(extract(epoch FROM now() - max(newest))::numeric, 3)
      FROM (SELECT (SELECT max(received_at) FROM events e WHERE e.site_id = s.id) AS newest
            FROM sites s WHERE s.id <> $flood_id) n")")
    sleep 1
  done
  wait "$flood_pid" || die "plumbctl gen --live (flood) failed"
  wait "$others_pid" || die "plumbctl gen --live (other sites) failed"
  sleep 3
  fairness=$(printf '%s\n' "${lags[@]}" | sort -g | awk '{ v[NR] = $1 } END { i = int(NR * 0.95 + 0.999); if (i < 1) i = 1; print v[i] }')
  flood_freshness=$(worker_metrics_p95 plumb_worker_freshness_seconds)
  note "fairness: ${#lags[@]} samples, p95 lag of the other sites $fairness s; freshness p95 (all sites) $flood_freshness s"
  bench_stop_workers

  local copy best best_rate=0
  copy=$(median "${BENCH_COPY_RATES[@]}")
  for workers in "${BENCH_WORKER_COUNTS[@]}"; do
    local -n rates="BENCH_RATE_$workers"
    bench_line "worker_$workers" "$(median "${rates[@]}")" events/s "$copy" "≥0.5×_COPY_and_≥25000/s"
    if awk -v a="$(median "${rates[@]}")" -v b="$best_rate" 'BEGIN { exit !(a > b) }'; then
      best_rate=$(median "${rates[@]}")
      best=$workers
    fi
    unset -n rates
  done
  bench_line worker_cpu_per_million "$(median "${BENCH_CPU_4[@]}")" CPU-s 0 "info_4_workers"
  bench_line worker_vs_copy "$best_rate" events/s "$copy" "≥0.5×_COPY_(best:_${best}_workers)"
  bench_line worker_freshness_p95 "$freshness" s 0 "≤2_s_at_1000_events/s"
  bench_line worker_fairness_p95 "$fairness" s 0 "≤5_s_for_other_sites_with_one_site_at_20×"
}

# wait_http URL: true once URL answers (within ~10 s).
wait_http() {
  local tries=0
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    ((tries++ < 100)) || return 1
    sleep 0.1
  done
}

# bench_dashboard: the dashboard's requests over HTTP for a large, a median and a tiny site of a
# bulk-loaded dataset, against the naive raw-events SQL in the same run (docs/BENCHMARKS.md).
# BENCH_DASHBOARD_SITES sites with skewed traffic: site 1 has 40 % of it, site i > 1 a share
# falling as 1/(i-1) (Zipf), at least weight 1; 365 days; PLUMB_BENCH_PAGEVIEWS pageviews in all
# (about 1.3 events each); the largest site's pages include a long tail of 15 % of the pageviews.
# The stored dataset (its own PostgreSQL cluster in var/bench-dashboard) is kept and reused by
# later runs with the same size, migrated to the current schema (and analysed: a migration may
# rewrite a table), since storing 10M pageviews takes 25–45 minutes; PLUMB_BENCH_FRESH=1 stores it
# again (after a change to the generator or the worker's ingest steps).
BENCH_DASHBOARD_SITES=1000
BENCH_DASHBOARD_PAGEVIEWS=${PLUMB_BENCH_PAGEVIEWS:-10000000}
BENCH_DASHBOARD_DATA=$VAR_DIR/bench-dashboard
bench_dashboard() {
  local db=bench_dashboard prefix="bd:" i
  local data=$BENCH_DASHBOARD_DATA
  local size="sites=$BENCH_DASHBOARD_SITES pageviews=$BENCH_DASHBOARD_PAGEVIEWS"
  local -a args=() weights=()
  ensure_packages "${PACKAGES[@]}"
  build_release
  # The dataset has its own PostgreSQL cluster (below); the dashboard needs a Redis.
  start_test_datastores redis-only
  if [[ ${PLUMB_BENCH_FRESH:-0} == 1 || $(cat "$data/size" 2>/dev/null) != "$size" ]]; then
    pg_stop "$data/pg"
    rm -rf -- "$data"
  fi
  mkdir -p "$data"
  chmod 755 "$data"
  pg_ensure "$data/pg" "$(random_free_port)" "$data/pg-password" "$data/postgres.log"
  trap '(pg_stop "$BENCH_DASHBOARD_DATA/pg") || warn "benchmark PostgreSQL did not stop"
    cleanup_test_datastores' EXIT
  BENCH_PG_PORT=$(pg_port "$data/pg")
  BENCH_PG_PASSWORD_FILE=$data/pg-password
  PLUMB_TEST_PG_DSN="postgresql://plumb:$(read_secret "$BENCH_PG_PASSWORD_FILE")@127.0.0.1:$BENCH_PG_PORT/postgres"
  say "benchmark: dashboard, $BENCH_DASHBOARD_SITES sites, $BENCH_DASHBOARD_PAGEVIEWS pageviews over 365 days"
  if [[ -f $data/size ]]; then
    note "reusing the dataset stored in $(rel "$data") (PLUMB_BENCH_FRESH=1 stores a new one)"
    bench_plumbctl "$db" "$prefix" migrate >/dev/null || die "plumbctl migrate failed"
    bench_psql "$db" "ANALYZE" >/dev/null
    bench_dashboard_run "$db"
    return
  fi
  bench_db "$db" "$prefix" "$BENCH_DASHBOARD_SITES"
  # Weights out of 100,000: site 1 40,000, the others 60,000 split as 1/(i-1) (at least 1).
  mapfile -t weights < <(awk -v n="$BENCH_DASHBOARD_SITES" 'BEGIN {
    print 40000; for (k = 1; k < n; k++) h += 1 / k
    for (i = 2; i <= n; i++) { w = int(60000 / (h * (i - 1)) + 0.5); print (w < 1 ? 1 : w) } }')
  for ((i = 1; i <= BENCH_DASHBOARD_SITES; i++)); do
    args+=(--site "$(bench_site "$i")" --weight "$(bench_site "$i")=${weights[i - 1]}")
  done
  note "sites created; storing the history with plumbctl gen --bulk (this takes a while)"
  local started=$SECONDS
  bench_plumbctl "$db" "$prefix" gen --bulk "${args[@]}" --events $((BENCH_DASHBOARD_PAGEVIEWS * 13 / 10)) \
    --days 365 --start "$(date -u -d '366 days ago' +%F)" --tail-pages $((BENCH_DASHBOARD_PAGEVIEWS * 15 / 100)) \
    >"$TEST_DIR/bench-dashboard-gen.json" || die "plumbctl gen --bulk failed"
  bench_psql "$db" "VACUUM ANALYZE" >/dev/null
  printf '%s\n' "$size" >"$data/size"
  note "stored in $((SECONDS - started)) s"
  bench_dashboard_run "$db"
}

# bench_dashboard_run DATABASE: the timed requests against the stored dataset.
bench_dashboard_run() {
  note "$(bench_psql "$1" "SELECT count(*) FROM events e JOIN dimension_values v ON v.site_id = e.site_id AND v.id = e.name_id AND v.value = 'pageview' WHERE e.site_id = 1") pageviews" \
    "for the largest site"
  "$BUILD_DIR/tests/dashboard_bench" "$(bench_dsn "$1")" "${PLUMB_BENCH_ROUNDS:-20}" \
    "$(bench_site 1)" "$(bench_site 500)" "$(bench_site "$BENCH_DASHBOARD_SITES")"
}

cmd_bench() {
  case ${1:-} in
    collector) bench_collector ;;
    worker) bench_worker ;;
    dashboard) bench_dashboard ;;
    *) usage_error "bench needs a target: collector, worker or dashboard" ;;
  esac
}
