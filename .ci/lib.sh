# shellcheck shell=bash
# Helpers shared by the .ci scripts (sourced, not run).
#
# Cleanup: a script that starts a process stops it when it exits, however it exits (success, a
# failed step under `set -e`, SIGINT/SIGTERM). Every cleanup goes through `on_exit`, so one
# script's cleanup never replaces another's (a second `trap … EXIT` would), and none of these
# scripts may `exec` another program: that replaces the shell and its EXIT trap never runs
# (.ci/lint checks it). .ci/run checks at the end that nothing it started is left.

QD_EXIT_HOOKS=()

# on_exit COMMAND: runs COMMAND (a string, evaluated) when the script exits, the last registered
# first. `$?` holds the script's exit status when COMMAND starts; the script exits with that
# status unless COMMAND calls `exit` itself.
on_exit() {
  QD_EXIT_HOOKS+=("$1")
}

qd_status() { return "$1"; }

run_exit_hooks() {
  local status=$? i
  set +e # every hook runs, whatever the one before it did
  for ((i = ${#QD_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
    qd_status "$status"
    eval "${QD_EXIT_HOOKS[i]}"
  done
  exit "$status"
}
trap run_exit_hooks EXIT

# stop_process PID: SIGTERM, then SIGKILL after 5 s, and reaps it (PID is a child of this shell).
stop_process() {
  local pid=$1 _
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# start_background LOG COMMAND...: starts COMMAND in the background, its output to LOG, stopped
# when the script exits; sets BACKGROUND_PID.
start_background() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  BACKGROUND_PID=$!
  on_exit "stop_process $BACKGROUND_PID"
}

# start_mock SCENARIO STEP_MS: starts target/release/qovery-mock in the background and sets
# MOCK_URL; the mock is stopped when the calling script exits.
start_mock() {
  local log
  log="$(mktemp)"
  on_exit "rm -f ${log@Q}"
  start_background "$log" target/release/qovery-mock --scenario "$1" --step-ms "$2" serve
  for _ in $(seq 100); do
    MOCK_URL="$(sed -n 's/^qovery-mock listening on \(http[^ ]*\).*/\1/p' "$log")"
    [[ -n "$MOCK_URL" ]] && return 0
    sleep 0.05
  done
  cat "$log" >&2
  echo "the mock did not start" >&2
  exit 1
}

# leftover_processes MARKER: prints "PID COMMAND" for every process (of this user) whose
# environment holds MARKER (NAME=VALUE), other than this shell. Builtins only: no process of its
# own to find.
leftover_processes() {
  local marker=$1 environ pid kv cmdline found
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}
    pid=${pid%/environ}
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    found=0
    while IFS= read -r -d '' kv; do
      if [[ "$kv" == "$marker" ]]; then
        found=1
        break
      fi
    done 2>/dev/null <"$environ" || continue
    ((found)) || continue
    cmdline=""
    while IFS= read -r -d '' kv; do
      cmdline+="$kv "
    done 2>/dev/null <"/proc/$pid/cmdline" || true
    echo "$pid ${cmdline% }"
  done
}

# The bundled mock's fixture environment, used by the scripts that source this file.
export ENVIRONMENT_ID=b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10
