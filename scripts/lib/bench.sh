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

# wrk_run URL SCRIPT [SECONDS]: runs wrk pinned to the client core; prints "rps p50_ms p99_ms".
wrk_run() {
  local url=$1 script=$2 seconds=${3:-$BENCH_SECONDS} out rps p50 p99
  out=$(taskset -c "$CLIENT_CORE" wrk -t1 -c"$BENCH_CONNECTIONS" -d"${seconds}s" --latency \
    -s "$script" "$url")
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  [[ -n $rps ]] || die "wrk printed no result for $url: $out"
  printf '%s %s %s\n' "$rps" "$p50" "$p99"
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
  local -a nginx_rps=() collector_rps=() collector_p50=() collector_p99=()
  ensure_packages "${PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
  build_release
  ensure_npm_packages "$GEOIP_PACKAGE_DIR"
  start_test_datastores
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
  local run result
  for ((run = 1; run <= BENCH_RUNS; run++)); do
    read -r result _ _ < <(wrk_run "http://127.0.0.1:$nginx_port/api/event" "$dir/post.lua")
    nginx_rps+=("$result")
    read -r -a result < <(wrk_run "http://127.0.0.1:$collector_port/api/event" "$dir/post.lua")
    collector_rps+=("${result[0]}")
    collector_p50+=("${result[1]}")
    collector_p99+=("${result[2]}")
    note "run $run: nginx ${nginx_rps[-1]} req/s, collector ${result[0]} req/s (p50 ${result[1]} ms, p99 ${result[2]} ms)"
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

  local rss_mb appended
  rss_mb=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
  appended=$(curl -fsS "http://127.0.0.1:$collector_port/metrics" | awk '/^plumb_collector_appended_total / { print $2 }')
  note "collector peak RSS ${rss_mb} MB; events appended to Redis: $appended"
  kill "$pid" "$nginx_pid" 2>/dev/null || true
  wait "$pid" "$nginx_pid" 2>/dev/null || true

  bench_line collector_vs_nginx "$(median "${collector_rps[@]}")" req/s "$(median "${nginx_rps[@]}")" ">=0.5x_nginx"
  bench_line collector_p50_at_peak "$(median "${collector_p50[@]}")" ms 0 "info"
  bench_line collector_p99_at_half_peak "${half_result[2]}" ms 0 "<=10ms"
  bench_line collector_peak_rss "$rss_mb" MB 0 "<=64MB"
}

# wait_http URL: true once URL answers (within ~10 s).
wait_http() {
  local tries=0
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    ((tries++ < 100)) || return 1
    sleep 0.1
  done
}

cmd_bench() {
  case ${1:-} in
    collector) bench_collector ;;
    *) usage_error "bench needs a target: collector" ;;
  esac
}
