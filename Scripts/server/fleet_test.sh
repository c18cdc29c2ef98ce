#!/usr/bin/env bash
# Fleet test (not in CI): 2-3 `lfm serve` replicas behind HAProxy on loopback under steady streaming
# load; a rolling restart (SIGTERM one replica at a time, wait for its drain and exit, restart it,
# wait until HAProxy has it back in rotation) and a SIGKILL of one replica (restarted the same way).
# Reports failed requests per phase (goal: 0 in the rolling restart; for the SIGKILL, at most the
# streams the killed replica was running) and recovery times. Needs haproxy (Debian: apt-get
# install haproxy) and curl; installs nothing. Uses Deploy/haproxy/haproxy.cfg with the ports
# rewritten and Debian's chroot/user/daemon lines dropped.
#
# usage: Scripts/server/fleet_test.sh [--replicas 3] [--clients 6] [--max-tokens 48] [--drain-timeout 20]
#                                     [--settle 15] [--model DIR] [--out REPORT.md]
#   env: LFM (default .build/release/lfm, else .build/debug/lfm), BASE_PORT (18480), THREADS (1), WORK (temp dir)
# Last stdout line: one JSON object {"phases": [...], "replicas": [...], "rolling_failed", "sigkill_failed", ...}.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
REPLICAS=3 CLIENTS=6 MAX_TOKENS=48 DRAIN=20 SETTLE=15 MODEL="" OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) REPLICAS="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --max-tokens) MAX_TOKENS="$2"; shift 2 ;;
    --drain-timeout) DRAIN="$2"; shift 2 ;;
    --settle) SETTLE="$2"; shift 2 ;;
    --model) MODEL="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
case "$REPLICAS" in 2|3) ;; *) echo "--replicas must be 2 or 3 (the committed HAProxy config lists three)" >&2; exit 2 ;; esac
command -v haproxy >/dev/null || { echo "haproxy not found (Debian: apt-get install -y haproxy)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 2; }
LFM="${LFM:-}"
if [ -z "$LFM" ]; then
  if [ -x "$root/.build/release/lfm" ]; then LFM="$root/.build/release/lfm"; else LFM="$root/.build/debug/lfm"; fi
fi
[ -x "$LFM" ] || { echo "no lfm binary at $LFM (swift build --product lfm, or set LFM)" >&2; exit 2; }
BASE="${BASE_PORT:-18480}"
STATS=$((BASE + 100))
WORK="${WORK:-$(mktemp -d /tmp/lfm-fleet.XXXXXX)}"
mkdir -p "$WORK"
if [ -z "$MODEL" ]; then
  MODEL="$WORK/tiny-lfm2"
  [ -f "$MODEL/model.safetensors" ] || python3 "$here/make_tiny_model.py" "$MODEL" >&2
fi
MODEL_ID="$(basename "$MODEL")"
PHASES="$WORK/phases.txt"; STOP="$WORK/stop"; : > "$PHASES"; rm -f "$STOP"
declare -a PIDS
HAPROXY_PID=""; LOAD_PID=""

cleanup() {
  touch "$STOP"
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; done
  [ -n "$HAPROXY_PID" ] && kill "$HAPROXY_PID" 2>/dev/null || true
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

now() { python3 -c 'import time; print(f"{time.time():.3f}")'; }
mark() { echo "$1 $2 $(now)" >> "$PHASES"; }
port_of() { echo $((BASE + $1)); }

start_replica() {  # $1: replica number
  local p; p=$(port_of "$1")
  nice -n 5 "$LFM" serve --model "$MODEL" --host 127.0.0.1 --port "$p" --replica-id "r$1" --drain-timeout "$DRAIN" \
    --threads "${THREADS:-1}" --max-batch 4 --max-queue 64 >> "$WORK/r$1.log" 2>&1 &
  PIDS[$1]=$!
}

haproxy_status() {  # $1: replica number -> UP / DOWN / MAINT / ... (column 18 of the stats CSV)
  curl -s "http://127.0.0.1:$STATS/stats;csv" | awk -F, -v s="r$1" '$1 == "lfm_replicas" && $2 == s { print $18 }'
}

wait_status() {  # $1: replica, $2: status prefix, $3: timeout seconds
  local deadline=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    case "$(haproxy_status "$1")" in "$2"*) return 0 ;; esac
    sleep 0.2
  done
  echo "replica r$1 not $2 in HAProxy after $3 s" >&2; return 1
}

# HAProxy from the committed configuration, ports rewritten, in the foreground (-db) under this script.
sed -e '/^\s*\(chroot\|user\|group\|daemon\)\b/d' -e '/^\s*log \/dev\/log/d' \
    -e "s/127.0.0.1:8080/127.0.0.1:$BASE/" -e "s/127.0.0.1:8404/127.0.0.1:$STATS/" \
    -e "s/127.0.0.1:8081/127.0.0.1:$((BASE + 1))/" -e "s/127.0.0.1:8082/127.0.0.1:$((BASE + 2))/" \
    -e "s/127.0.0.1:8083/127.0.0.1:$((BASE + 3))/" "$root/Deploy/haproxy/haproxy.cfg" > "$WORK/haproxy.cfg"
[ "$REPLICAS" = 2 ] && sed -i '/server r3 /d' "$WORK/haproxy.cfg"
haproxy -c -q -f "$WORK/haproxy.cfg"

echo "fleet: $REPLICAS replicas of $MODEL_ID ($LFM), HAProxy on :$BASE, work dir $WORK" >&2
for i in $(seq 1 "$REPLICAS"); do start_replica "$i"; done
haproxy -db -f "$WORK/haproxy.cfg" > "$WORK/haproxy.log" 2>&1 &
HAPROXY_PID=$!
for i in $(seq 1 "$REPLICAS"); do wait_status "$i" UP 300; done
echo "all replicas UP" >&2

python3 "$here/fleet_load.py" --port "$BASE" --model "$MODEL_ID" --phases "$PHASES" --stop "$STOP" \
  --clients "$CLIENTS" --max-tokens "$MAX_TOKENS" > "$WORK/load.json" 2> "$WORK/load.log" &
LOAD_PID=$!
sleep 2
mark phase steady; sleep "$SETTLE"

# Rolling restart: one replica at a time.
mark phase rolling
declare -a DRAIN_S EXIT_CODES READY_S
for i in $(seq 1 "$REPLICAS"); do
  t0=$(now); mark event "term_r$i"
  kill -TERM "${PIDS[$i]}"
  set +e; wait "${PIDS[$i]}"; rc=$?; set -e
  t1=$(now); mark event "exited_r$i"
  EXIT_CODES[$i]=$rc
  DRAIN_S[$i]=$(python3 -c "print(round($t1 - $t0, 2))")
  start_replica "$i"
  wait_status "$i" UP 300
  t2=$(now); mark event "up_r$i"
  READY_S[$i]=$(python3 -c "print(round($t2 - $t1, 2))")
  echo "r$i: SIGTERM -> exit $rc after ${DRAIN_S[$i]} s; restarted and UP after ${READY_S[$i]} s" >&2
done
mark phase steady2; sleep "$SETTLE"

# SIGKILL: replica 1, with what it was running just before.
mark phase sigkill
inflight=$(curl -s "http://127.0.0.1:$(port_of 1)/metrics" | awk '/^lfm_running_sequences\{/ { print $2 }')
queued=$(curl -s "http://127.0.0.1:$(port_of 1)/metrics" | awk '/^lfm_queue_depth\{/ { print $2 }')
tk=$(now); mark event kill_r1
kill -KILL "${PIDS[1]}"; wait "${PIDS[1]}" 2>/dev/null || true
wait_status 1 DOWN 60
td=$(now); mark event down_r1
start_replica 1
wait_status 1 UP 300
tu=$(now); mark event up_r1
echo "r1: SIGKILL with ${inflight:-?} running, ${queued:-?} queued; DOWN in HAProxy after $(python3 -c "print(round($td - $tk, 2))") s, back UP after $(python3 -c "print(round($tu - $tk, 2))") s" >&2
mark phase steady3; sleep "$SETTLE"
touch "$STOP"
wait "$LOAD_PID"; LOAD_PID=""
cat "$WORK/load.log" >&2

python3 - "$WORK/load.json" "$REPLICAS" "${inflight:-0}" "${queued:-0}" "$tk" "$td" "$tu" "$OUT" \
  "${DRAIN_S[*]}" "${EXIT_CODES[*]}" "${READY_S[*]}" "$CLIENTS" "$MAX_TOKENS" "$DRAIN" "$LFM" <<'PY'
import json, sys
(load_path, replicas, inflight, queued, tk, td, tu, out, drains, codes, readies, clients, max_tokens, drain, lfm) = sys.argv[1:]
load = json.loads(open(load_path).read().strip().splitlines()[-1])
phases = {p["name"]: p for p in load["phases"]}
ev = load["events"]
# After the kill, failures stop once the streams the replica ran have failed; recovery = last such failure.
kill_fail = phases.get("sigkill", {})
summary = {
    "replicas": int(replicas), "clients": int(clients), "max_tokens": int(max_tokens), "drain_timeout_s": float(drain),
    "phases": load["phases"],
    "rolling_failed": phases.get("rolling", {}).get("failed"),
    "rolling_exit_codes": [int(c) for c in codes.split()],
    "rolling_drain_s": [float(x) for x in drains.split()],
    "rolling_restart_to_up_s": [float(x) for x in readies.split()],
    "sigkill_running_before": int(float(inflight)), "sigkill_queued_before": int(float(queued)),
    "sigkill_failed": kill_fail.get("failed"),
    "sigkill_last_failure_s": kill_fail.get("last_failure_s"),
    "sigkill_down_detected_s": round(float(td) - float(tk), 2),
    "sigkill_back_up_s": round(float(tu) - float(tk), 2),
    "requests": load["requests"], "failed": load["failed"], "lfm": lfm,
}
lines = [f"| phase | seconds | requests | failed | failures |", "|---|---:|---:|---:|---|"]
for p in load["phases"]:
    lines.append(f"| {p['name']} | {p['seconds']} | {p['requests']} | {p['failed']} | {json.dumps(p['failures']) if p['failures'] else ''} |")
lines.append("")
lines.append(f"Rolling restart: exit codes {summary['rolling_exit_codes']}, SIGTERM to exit (drain) {summary['rolling_drain_s']} s, "
             f"restart to UP in HAProxy {summary['rolling_restart_to_up_s']} s.")
lines.append(f"SIGKILL of r1 (running {summary['sigkill_running_before']}, queued {summary['sigkill_queued_before']} just before): "
             f"{summary['sigkill_failed']} failed requests, last failure {summary['sigkill_last_failure_s']} s after the kill; "
             f"HAProxy marked it DOWN after {summary['sigkill_down_detected_s']} s; restarted replica back UP after {summary['sigkill_back_up_s']} s.")
text = "\n".join(lines)
print(text, file=sys.stderr)
if out:
    with open(out, "w") as f:
        f.write(text + "\n")
print(json.dumps(summary))
PY
