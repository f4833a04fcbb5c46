# shellcheck shell=bash
# Helpers shared by the .ci scripts (sourced, not run).

# start_mock SCENARIO STEP_MS: starts target/release/qovery-mock in the background and sets
# MOCK_URL and MOCK_PID; the mock is stopped when the calling script exits.
start_mock() {
  local log
  log="$(mktemp)"
  target/release/qovery-mock --scenario "$1" --step-ms "$2" serve >"$log" 2>&1 &
  MOCK_PID=$!
  trap 'kill "$MOCK_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    MOCK_URL="$(sed -n 's/^qovery-mock listening on \(http[^ ]*\).*/\1/p' "$log")"
    [[ -n "$MOCK_URL" ]] && return 0
    sleep 0.05
  done
  cat "$log" >&2
  echo "the mock did not start" >&2
  exit 1
}

# The bundled mock's fixture environment, used by the scripts that source this file.
export ENVIRONMENT_ID=b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10
