# shellcheck shell=bash
# Private PostgreSQL 15 and Redis instances on loopback, one directory each. `up` keeps one pair
# under var/; `test` starts a throwaway pair under var/test-*/. Both use these functions.

PG_BIN=/usr/lib/postgresql/15/bin
REDIS_SERVER=/usr/bin/redis-server
REDIS_CLI=/usr/bin/redis-cli
# Seconds to wait for a server to start or stop before giving up.
DATASTORE_TIMEOUT=60

# ---------------------------------------------------------------------------------------------
# PostgreSQL: DIR/data is the cluster, DIR/run its socket directory; superuser `plumb`.

# pg_as_owner CMD...: runs a PostgreSQL server tool as the cluster owner. PostgreSQL refuses to
# run as root, so root delegates to the `postgres` system user; anyone else runs as themselves.
pg_as_owner() {
  if is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# pg_running DIR: true when the cluster in DIR/data is running.
pg_running() {
  [[ -f $1/data/PG_VERSION ]] || return 1
  pg_as_owner "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

# pg_pid DIR / pg_port DIR: the postmaster's pid and port from postmaster.pid (while running).
pg_pid() { sed -n 1p "$1/data/postmaster.pid" 2>/dev/null || true; }
pg_port() { sed -n 4p "$1/data/postmaster.pid" 2>/dev/null || true; }

# pg_ensure DIR PORT PASSWORD_FILE LOG_FILE: initialises the cluster in DIR unless it exists
# (superuser `plumb`, SCRAM password from PASSWORD_FILE, created when missing) and starts it on
# 127.0.0.1:PORT unless it already runs there; a cluster running on another port is restarted.
pg_ensure() {
  local dir=$1 port=$2 pwfile=$3 log=$4
  local data=$dir/data run=$dir/run
  # A Unix socket path is limited to 107 bytes.
  ((${#run} + 18 <= 107)) || die "socket path $run/.s.PGSQL.$port is too long: use a shorter checkout path"
  [[ -x $PG_BIN/postgres ]] || die "$PG_BIN/postgres not found: is postgresql-15 installed?"
  ensure_secret "$pwfile"
  mkdir -p "$dir" "$run" "$(dirname "$log")"
  touch "$log"
  if is_root; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' system user: is postgresql-15 installed?"
    chown postgres:postgres "$dir" "$run" "$log"
    runuser -u postgres -- test -w "$dir" ||
      die "user postgres cannot reach $dir: make every parent directory traversable (chmod o+x)"
  fi

  if [[ ! -f $data/PG_VERSION ]]; then
    note "initialising PostgreSQL cluster in $(rel "$data")"
    # initdb reads the password as the cluster owner; the secret itself stays root-only.
    local initdb_pw=$dir/.initdb-password
    (umask 077 && printf '%s\n' "$(read_secret "$pwfile")" >"$initdb_pw")
    if is_root; then chown postgres:postgres "$initdb_pw"; fi
    if ! pg_as_owner "$PG_BIN/initdb" -D "$data" --username=plumb --pwfile="$initdb_pw" \
      --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >>"$log" 2>&1; then
      rm -f "$initdb_pw"
      show_log_tail "$log"
      die "initdb failed for $(rel "$data")"
    fi
    rm -f "$initdb_pw"
    printf "\n# Settings managed by scripts/plumb.\ninclude_if_exists = 'plumb.conf'\n" |
      pg_as_owner tee -a "$data/postgresql.conf" >/dev/null
  fi

  if pg_running "$dir"; then
    if [[ $(pg_port "$dir") == "$port" ]]; then
      note "PostgreSQL already running (pid $(pg_pid "$dir"), port $port)"
      return 0
    fi
    note "PostgreSQL runs on port $(pg_port "$dir"); restarting it on port $port"
    pg_stop "$dir"
  fi
  if port_busy "$port"; then die "port $port on 127.0.0.1 is already in use (PostgreSQL wanted it)"; fi

  # Rewritten on every start, so a changed port or setting takes effect.
  pg_as_owner tee "$data/plumb.conf" >/dev/null <<EOF
# Written by scripts/plumb on every start; edits here are overwritten.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '${run//\'/\'\'}'
max_connections = 200
shared_buffers = 256MB
# Reloads the shared buffers' pages after a restart (their list is saved at shutdown and every
# 5 minutes), so the first reports after a restart do not read the rollups' hot pages from disk.
shared_preload_libraries = 'pg_prewarm'
fsync = on
timezone = 'UTC'
log_timezone = 'UTC'
EOF
  if ! without_lock pg_as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t "$DATASTORE_TIMEOUT" \
    -s start; then
    show_log_tail "$log"
    die "PostgreSQL did not start (log: $(rel "$log"))"
  fi
  note "PostgreSQL started (pid $(pg_pid "$dir"), port $port)"
}

# pg_stop DIR: fast shutdown (rolls back open transactions); no-op when not running.
pg_stop() {
  pg_running "$1" || return 0
  pg_as_owner "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w -t "$DATASTORE_TIMEOUT" -s stop ||
    die "PostgreSQL in $(rel "$1/data") did not stop"
}

# pg_ensure_database PORT PASSWORD_FILE NAME: creates database NAME (owner plumb) if missing.
pg_ensure_database() {
  local port=$1 pwfile=$2 name=$3 exists
  local -a conn=(-h 127.0.0.1 -p "$port" -U plumb)
  exists=$(PGPASSWORD=$(read_secret "$pwfile") PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" "${conn[@]}" \
    -d postgres -XtAq -v ON_ERROR_STOP=1 -c "SELECT 1 FROM pg_database WHERE datname = '$name'") ||
    die "cannot query PostgreSQL on port $port"
  [[ $exists == 1 ]] && return 0
  PGPASSWORD=$(read_secret "$pwfile") "$PG_BIN/createdb" "${conn[@]}" "$name" ||
    die "cannot create database $name"
  note "created database $name"
}

# pg_enable_login PORT PASSWORD_FILE ROLE ROLE_PASSWORD_FILE: lets ROLE (made by a migration,
# without login) sign in to database plumb with the password in ROLE_PASSWORD_FILE.
pg_enable_login() {
  local port=$1 pwfile=$2 role=$3 role_pwfile=$4
  # Secrets are alphanumeric (ensure_secret), so the literal needs no escaping.
  PGPASSWORD=$(read_secret "$pwfile") PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U plumb \
    -d plumb -XtAq -v ON_ERROR_STOP=1 \
    -c "ALTER ROLE $role LOGIN PASSWORD '$(read_secret "$role_pwfile")'" ||
    die "cannot enable login for role $role"
}

# ---------------------------------------------------------------------------------------------
# Redis: DIR holds redis.conf, the pid file and the append-only files.

# redis_cli PORT PASSWORD_FILE ARGS...: the password goes through the environment, not argv.
redis_cli() {
  local port=$1 pwfile=$2
  shift 2
  REDISCLI_AUTH=$(read_secret "$pwfile") "$REDIS_CLI" -h 127.0.0.1 -p "$port" "$@"
}

# redis_ping PORT PASSWORD_FILE: true when our Redis answers there with that password.
redis_ping() { [[ $(redis_cli "$1" "$2" ping 2>/dev/null) == PONG ]]; }

# redis_pid DIR: the pid of the Redis server started from DIR, or nothing.
redis_pid() {
  local pid
  pid=$(read_pid "$1/redis.pid")
  [[ -n $pid ]] && cmdline_has "$pid" redis-server && printf '%s' "$pid"
  return 0
}

# redis_port DIR: the port in DIR/redis.conf, or nothing.
redis_port() { awk '$1 == "port" { print $2 }' "$1/redis.conf" 2>/dev/null || true; }

# redis_ensure DIR PORT PASSWORD_FILE LOG_FILE: starts Redis from DIR on 127.0.0.1:PORT with the
# password in PASSWORD_FILE (created when missing), unless it already answers there.
redis_ensure() {
  local dir=$1 port=$2 pwfile=$3 log=$4 pid
  [[ -x $REDIS_SERVER ]] || die "$REDIS_SERVER not found: is redis-server installed?"
  ensure_secret "$pwfile"
  mkdir -p "$dir" "$(dirname "$log")"
  chmod 700 "$dir"

  pid=$(redis_pid "$dir")
  if [[ -n $pid ]]; then
    if redis_ping "$port" "$pwfile"; then
      note "Redis already running (pid $pid, port $port)"
      return 0
    fi
    note "Redis (pid $pid) does not answer on port $port with the current password; restarting it"
    redis_stop "$dir" "$pwfile"
  fi
  if port_busy "$port"; then die "port $port on 127.0.0.1 is already in use (Redis wanted it)"; fi

  # Rewritten on every start, so a changed port or password takes effect.
  (umask 077 && cat >"$dir/redis.conf") <<EOF
# Written by scripts/plumb on every start; edits here are overwritten.
bind 127.0.0.1
port $port
protected-mode yes
requirepass $(read_secret "$pwfile")
daemonize yes
pidfile $dir/redis.pid
logfile $log
dir $dir
appendonly yes
appendfsync everysec
maxmemory-policy noeviction
EOF
  without_lock "$REDIS_SERVER" "$dir/redis.conf" || die "redis-server did not start (log: $(rel "$log"))"
  local deadline=$((SECONDS + DATASTORE_TIMEOUT))
  until redis_ping "$port" "$pwfile"; do
    if ((SECONDS >= deadline)); then
      show_log_tail "$log"
      die "Redis does not answer on port $port (log: $(rel "$log"))"
    fi
    sleep 0.1
  done
  note "Redis started (pid $(redis_pid "$dir"), port $port)"
}

# redis_stop DIR PASSWORD_FILE: SHUTDOWN (which flushes the append-only file), SIGTERM if that
# is refused; no-op when not running.
redis_stop() {
  local dir=$1 pwfile=$2 pid port
  pid=$(redis_pid "$dir")
  [[ -n $pid ]] || return 0
  port=$(redis_port "$dir")
  if [[ -z $port ]] || ! redis_cli "$port" "$pwfile" shutdown >/dev/null 2>&1; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  wait_exit "$DATASTORE_TIMEOUT" "$pid" || terminate 5 "$pid"
}
