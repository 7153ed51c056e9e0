# shellcheck shell=bash
# Helpers shared by every scripts/plumb command: messages, packages, the build, secrets, ports and
# processes. Sourced by scripts/plumb, which sets ROOT, VAR_DIR and BUILD_DIR first.

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
warn() { printf 'plumb: warning: %s\n' "$*" >&2; }
die() {
  printf 'plumb: error: %s\n' "$*" >&2
  exit 1
}

is_root() { [[ $EUID -eq 0 ]]; }

# rel PATH: PATH relative to the repository root when it lies inside it (for messages only).
rel() { printf '%s' "${1#"$ROOT"/}"; }

# ---------------------------------------------------------------------------------------------
# Packages

# Names of installed packages plus the virtual names they provide: a virtual package counts as
# installed, as it does for apt (e.g. NodeSource's nodejs provides, and conflicts with, npm).
installed_packages() {
  dpkg-query -W -f='${db:Status-Abbrev}|${Package}|${Provides}\n' 2>/dev/null |
    awk -F'|' '$1 ~ /^ii/ {
      print $2
      n = split($3, provided, /, */)
      for (i = 1; i <= n; i++) { sub(/ .*/, "", provided[i]); if (provided[i] != "") print provided[i] }
    }'
}

# ensure_packages NAME...: installs the missing ones with apt; refreshes the index only then.
ensure_packages() {
  command -v dpkg-query >/dev/null || die "dpkg-query not found: scripts/plumb supports Debian 12 only"
  local installed pkg
  local -a missing=()
  installed=$(installed_packages)
  for pkg in "$@"; do
    grep -qxF -- "$pkg" <<<"$installed" || missing+=("$pkg")
  done
  ((${#missing[@]} > 0)) || return 0
  is_root || die "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
  local log=$VAR_DIR/log/apt.log
  mkdir -p "$(dirname "$log")"
  say "installing Debian packages: ${missing[*]} (output: $(rel "$log"))"
  export DEBIAN_FRONTEND=noninteractive
  # Waits for a dpkg lock held by another apt run instead of failing; never removes packages.
  local -a apt=(apt-get -q -o DPkg::Lock::Timeout=600)
  if ! "${apt[@]}" update >>"$log" 2>&1; then
    show_log_tail "$log"
    die "apt-get update failed"
  fi
  if ! "${apt[@]}" install -y --no-install-recommends --no-remove "${missing[@]}" >>"$log" 2>&1; then
    show_log_tail "$log"
    die "apt-get install failed for: ${missing[*]}"
  fi
}

# ensure_npm_packages DIR...: `npm ci` in each DIR (a folder with package.json and
# package-lock.json: pinned build and test tools such as terser and playwright-core), unless its
# node_modules was installed from the same lock file already. One install at a time: concurrent
# `up` and `test` runs would otherwise delete each other's node_modules.
ensure_npm_packages() {
  local dir stamp npm_lock log=$VAR_DIR/log/npm.log
  command -v npm >/dev/null || die "npm not found (Debian package npm)"
  mkdir -p "$(dirname "$log")"
  exec {npm_lock}>"$VAR_DIR/.npm.lock"
  flock "$npm_lock"
  for dir in "$@"; do
    stamp=$dir/node_modules/.plumb-package-lock.json
    cmp -s "$dir/package-lock.json" "$stamp" && continue
    say "installing npm packages in $(rel "$dir") (output: $(rel "$log"))"
    if ! (cd "$dir" && npm ci --no-audit --no-fund) >>"$log" 2>&1; then
      show_log_tail "$log"
      die "npm ci failed in $(rel "$dir")"
    fi
    cp "$dir/package-lock.json" "$stamp"
  done
  exec {npm_lock}>&-
}

# ---------------------------------------------------------------------------------------------
# Build

# build_release: configures build/release once, then builds it. Concurrent `up` and `test` runs
# take turns: two ninja processes in one build directory corrupt each other's state.
build_release() {
  local build_lock
  say "building $(rel "$BUILD_DIR")"
  mkdir -p "$BUILD_DIR"
  exec {build_lock}>"$BUILD_DIR/.plumb-build.lock"
  if ! flock -n "$build_lock"; then
    note "waiting for another build of $(rel "$BUILD_DIR") to finish"
    flock "$build_lock"
  fi
  # The build runs terser (tracker script) and esbuild (web dashboard) from these folders, and
  # embeds uap-core's user-agent rules from libs/enrich/data.
  ensure_npm_packages "$ROOT/services/collector/tracker" "$ROOT/services/dashboard/web" "$ROOT/libs/enrich/data"
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLUMB_WERROR=ON ||
      die "cmake configure failed (see above)"
  fi
  cmake --build "$BUILD_DIR" -j"$(nproc)" || die "build failed (see above)"
  exec {build_lock}>&-
}

# ---------------------------------------------------------------------------------------------
# Secrets

# ensure_secret FILE: creates FILE (mode 600) holding 32 random letters and digits, unless it
# already has content. Alphanumeric so the secret can go into URLs and config files unquoted.
ensure_secret() {
  local file=$1 random
  [[ -s $file ]] && return 0
  mkdir -p -m 700 "$(dirname "$file")"
  random=$(head -c 96 /dev/urandom | base64 -w0 | tr -d '/+=')
  (umask 077 && printf '%s\n' "${random:0:32}" >"$file.tmp.$$") || die "cannot write $file"
  mv -f "$file.tmp.$$" "$file"
}

# read_secret FILE: prints the secret without its newline.
read_secret() {
  [[ -r $1 ]] || die "secret $(rel "$1") is missing: run scripts/plumb up first"
  printf '%s' "$(<"$1")"
}

# ---------------------------------------------------------------------------------------------
# Ports

# port_busy PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# check_port NAME VALUE: dies unless VALUE is a TCP port number.
check_port() {
  if [[ ! $2 =~ ^[0-9]{1,5}$ ]] || ((10#$2 < 1 || 10#$2 > 65535)); then
    die "$1 must be a TCP port (1-65535), got '$2'"
  fi
}

# random_free_port [EXCLUDED...]: prints a port from 20000 up to the ephemeral range that nothing
# listens on.
random_free_port() {
  local port excluded tries=0 first=20000 last=32767 ephemeral
  # Below the kernel's ephemeral range: a port chosen there could be taken by any outgoing
  # connection (a PostgreSQL client, say) between this check and the server's bind.
  if read -r ephemeral _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null && ((ephemeral > first + 1000)); then
    last=$((ephemeral - 1))
  fi
  while ((tries++ < 200)); do
    port=$((first + (RANDOM * 32768 + RANDOM) % (last - first + 1)))
    for excluded in "$@"; do
      [[ $port == "$excluded" ]] && continue 2
    done
    port_busy "$port" || {
      printf '%s\n' "$port"
      return 0
    }
  done
  die "found no free port on 127.0.0.1 in $first-$last"
}

# ---------------------------------------------------------------------------------------------
# Processes

# pid_alive PID: true when PID is a number naming a live process (an unreaped zombie is dead).
pid_alive() {
  local stat
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# read_pid FILE: prints the pid stored in FILE (first line), or nothing.
read_pid() {
  local pid=''
  [[ -r $1 ]] && read -r pid <"$1" || true
  [[ $pid =~ ^[0-9]+$ ]] && printf '%s' "$pid"
  return 0
}

# cmdline_has PID TEXT: true when the live process PID has TEXT in its command line, so that a
# stale pid file whose number was reused by an unrelated process is not mistaken for ours.
cmdline_has() {
  local cmdline
  pid_alive "$1" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$2"* ]]
}

# wait_exit SECONDS PID...: waits until all PIDs have exited; false if some are left at the end.
wait_exit() {
  local ticks=$(($1 * 10)) pid left
  shift
  while :; do
    left=0
    for pid in "$@"; do
      pid_alive "$pid" && left=1
    done
    ((left)) || return 0
    ((ticks-- > 0)) || return 1
    sleep 0.1
  done
}

# terminate SECONDS PID...: SIGTERM, then SIGKILL for whatever is still alive after SECONDS.
terminate() {
  local seconds=$1 pid
  shift
  (($# > 0)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  wait_exit "$seconds" "$@" && return 0
  for pid in "$@"; do
    if pid_alive "$pid"; then
      warn "pid $pid ignored SIGTERM for ${seconds} s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait_exit 5 "$@" || true
}

# without_lock CMD...: runs CMD without the file descriptor holding the `up`/`down` lock, so that
# daemons it starts do not keep holding the lock after this script has exited.
without_lock() {
  if [[ -n ${LOCK_FD:-} ]]; then
    "$@" {LOCK_FD}>&-
  else
    "$@"
  fi
}

# show_log_tail FILE: the last 20 lines of FILE on stderr, for failures.
show_log_tail() {
  [[ -s $1 ]] || return 0
  printf -- '--- last 20 lines of %s ---\n' "$(rel "$1")" >&2
  tail -n 20 "$1" >&2
  printf -- '---\n' >&2
}
