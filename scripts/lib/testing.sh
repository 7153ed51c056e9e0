# shellcheck shell=bash
# `scripts/plumb test`: throwaway PostgreSQL and Redis, then the CTest tiers in order.

# Tiers in the order they run; each is a CTest label.
TEST_TIERS=(unit pg redis e2e browser)
# Seconds a single test may run unless it sets its own TIMEOUT property (CTest's default: 1500).
TEST_TIMEOUT=600
# CTest lines that only report progress, success or timing; the full output stays in the log.
CTEST_NOISE='^Internal ctest changing into directory|^Test project |^ *Start +[0-9]+: '
CTEST_NOISE+='|^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* +Passed +[0-9.]+ sec$'
CTEST_NOISE+='|^Label Time Summary:|^[a-z0-9_]+ += +[0-9.]+ sec\*proc|^Total Test time|^$'

# start_test_datastores [redis-only]: PostgreSQL and Redis (or Redis alone) on free random loopback
# ports in a fresh var/test-* directory, removed again on exit (kept when PLUMB_KEEP_TEST_VAR=1).
start_test_datastores() {
  local pg_port redis_port with_pg=1
  [[ ${1:-} != redis-only ]] || with_pg=0
  mkdir -p "$VAR_DIR"
  chmod 755 "$VAR_DIR"
  TEST_DIR=$(mktemp -d "$VAR_DIR/test-$(date +%Y%m%d-%H%M%S)-XXXX")
  chmod 755 "$TEST_DIR"
  trap cleanup_test_datastores EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  pg_port=$(random_free_port)
  redis_port=$(random_free_port "$pg_port")
  if ((with_pg)); then
    say "starting test PostgreSQL and Redis in $(rel "$TEST_DIR")"
    pg_ensure "$TEST_DIR/pg" "$pg_port" "$TEST_DIR/secrets/pg-password" "$TEST_DIR/log/postgres.log"
    # Superuser on the maintenance database: each test creates and drops its own database.
    PLUMB_TEST_PG_DSN="postgresql://plumb:$(read_secret "$TEST_DIR/secrets/pg-password")@127.0.0.1:$pg_port/postgres"
  else
    say "starting test Redis in $(rel "$TEST_DIR")"
  fi
  redis_ensure "$TEST_DIR/redis" "$redis_port" "$TEST_DIR/secrets/redis-password" \
    "$TEST_DIR/log/redis.log"
  PLUMB_TEST_REDIS_URL="redis://:$(read_secret "$TEST_DIR/secrets/redis-password")@127.0.0.1:$redis_port/0"
  PLUMB_TEST_BIN_DIR=$BUILD_DIR
  export PLUMB_TEST_PG_DSN PLUMB_TEST_REDIS_URL PLUMB_TEST_BIN_DIR
}

# Runs on exit; must not die, so each step runs in a subshell.
cleanup_test_datastores() {
  [[ -n ${TEST_DIR:-} && -d $TEST_DIR ]] || return 0
  (redis_stop "$TEST_DIR/redis" "$TEST_DIR/secrets/redis-password") || warn "test Redis did not stop"
  (pg_stop "$TEST_DIR/pg") || warn "test PostgreSQL did not stop"
  if [[ ${PLUMB_KEEP_TEST_VAR:-0} == 1 ]]; then
    note "kept $(rel "$TEST_DIR") (PLUMB_KEEP_TEST_VAR=1)"
  else
    rm -rf -- "$TEST_DIR"
    note "stopped the test servers and removed $(rel "$TEST_DIR")"
  fi
  TEST_DIR=  # done: the EXIT trap has nothing left to clean up
}

# run_tier TIER: runs the tests labelled TIER; records the outcome in TIER_RESULT.
run_tier() {
  local tier=$1 rc=0 counts
  local log=$BUILD_DIR/Testing/plumb-$tier.log
  local -a args=(--test-dir "$BUILD_DIR" --output-on-failure --no-tests=ignore
    --timeout "$TEST_TIMEOUT" -L "^$tier\$")
  [[ $tier != unit ]] || args+=(-j2)
  say "test tier: $tier"
  mkdir -p "$(dirname "$log")"
  ctest "${args[@]}" 2>&1 | tee "$log" | { grep -vE "$CTEST_NOISE" || true; } || rc=$?
  counts=$(grep -oE '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1) || true
  if [[ $counts =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    TOTAL_FAILED=$((TOTAL_FAILED + BASH_REMATCH[1]))
    TOTAL_PASSED=$((TOTAL_PASSED + BASH_REMATCH[2] - BASH_REMATCH[1]))
  elif ((rc != 0)); then
    TOTAL_FAILED=$((TOTAL_FAILED + 1))  # the tier could not run at all
  fi
  # --no-tests=ignore: a label without tests runs nothing, prints no count and succeeds.
  if ((rc == 0)) && [[ -z $counts ]]; then
    TIER_RESULT[$tier]="skipped  no tests labelled $tier yet"
    note "no tests labelled $tier yet: skipped"
  elif ((rc == 0)); then
    TIER_RESULT[$tier]="passed   $counts"
  else
    TIER_RESULT[$tier]="FAILED   ${counts:-ctest exit status $rc}; log: $(rel "$log")"
  fi
}

# run_test_tiers TIER...: every tier runs even after a failure; false if any failed. Sets
# TOTAL_PASSED and TOTAL_FAILED over all tiers.
run_test_tiers() {
  local tier failed=0
  declare -gA TIER_RESULT=()
  TOTAL_PASSED=0
  TOTAL_FAILED=0
  # The browser tier drives Chromium with playwright-core from tests/browser/node_modules.
  [[ " $* " != *" browser "* ]] || ensure_npm_packages "$ROOT/tests/browser"
  for tier in "$@"; do
    run_tier "$tier"
  done
  say "test summary"
  for tier in "$@"; do
    printf '    %-8s %s\n' "$tier" "${TIER_RESULT[$tier]}"
    [[ ${TIER_RESULT[$tier]} != FAILED* ]] || failed=1
  done
  ((failed == 0))
}
