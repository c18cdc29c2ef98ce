#!/usr/bin/env python3
"""Steady streaming load through a load balancer, with failures counted per phase (for fleet_test.sh).

Standard library only; each request is load_test.py's `one_request` (a streaming chat completion
read to its `[DONE]`). C clients send requests one after another until the file --stop exists (or
--seconds pass). The driving script appends lines `phase NAME UNIX_TIME` and `event NAME UNIX_TIME`
to --phases; each request counts in the phase it started in. A request fails when it gets no
response, a status other than 200, an error event, or a stream that ends without `[DONE]`.

Prints one line per phase and, last on stdout, one single-line JSON object:
  {"phases": [{"name", "seconds", "requests", "ok", "failed", "failures": {kind: n}, "last_failure_s"}],
   "events": {name: unix_time}, "requests", "failed"}
usage: fleet_load.py --port P --model ID --phases FILE --stop FILE [--clients 6] [--max-tokens 48] [--seconds 900]
"""
import argparse, asyncio, json, os, sys, time, types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load_test  # noqa: E402

PROMPTS = ["Tell me about the sea.", "Write a haiku about rain.", "List three colours.", "What is a fleet?",
           "Explain load balancing in one paragraph.", "Count from one to twenty."]

async def client(args, i, records, stop_at):
    n = 0
    while not os.path.exists(args.stop) and time.time() < stop_at:
        start = time.time()
        try:
            r = await load_test.one_request(args, PROMPTS[(i + n) % len(PROMPTS)] + f" #{i}.{n}")
            if not r.get("ok"):
                kind = "error_event" if r.get("status") == 599 else f"http_{r.get('status')}"
            elif not r.get("complete"):
                kind = "truncated"
            else:
                kind = None
        except Exception as e:  # noqa: BLE001  (a dropped connection is a failure to count, not a crash)
            kind = type(e).__name__
        records.append((start, time.time(), kind))
        n += 1

def read_marks(path):
    phases, events = [], {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 3:
                    continue
                if parts[0] == "phase":
                    phases.append((parts[1], float(parts[2])))
                elif parts[0] == "event":
                    events[parts[1]] = float(parts[2])
    except OSError:
        pass
    return phases, events

async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--phases", required=True)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--seconds", type=float, default=900)
    ap.add_argument("--api-key")
    args = ap.parse_args()
    records = []
    stop_at = time.time() + args.seconds
    await asyncio.gather(*(client(args, i, records, stop_at) for i in range(args.clients)))
    phases, events = read_marks(args.phases)
    if not phases:
        phases = [("all", min(r[0] for r in records) if records else time.time())]
    out = []
    for k, (name, begin) in enumerate(phases):
        end = phases[k + 1][1] if k + 1 < len(phases) else float("inf")
        mine = [r for r in records if begin <= r[0] < end]
        failures = {}
        for r in mine:
            if r[2]:
                failures[r[2]] = failures.get(r[2], 0) + 1
        failed_at = [r[1] for r in mine if r[2]]
        seconds = (min(end, max((r[1] for r in mine), default=begin)) - begin)
        row = {"name": name, "seconds": round(seconds, 1), "requests": len(mine), "ok": len(mine) - sum(failures.values()),
               "failed": sum(failures.values()), "failures": failures,
               "last_failure_s": round(max(failed_at) - begin, 2) if failed_at else None}
        out.append(row)
        print(f"{name:>16}: {row['requests']:5d} requests, {row['failed']:3d} failed {failures or ''}", file=sys.stderr)
    early = [r for r in records if phases and r[0] < phases[0][1]]
    summary = {"phases": out, "events": events, "requests": len(records), "failed": sum(1 for r in records if r[2]),
               "before_first_phase": len(early)}
    print(json.dumps(summary))

if __name__ == "__main__":
    asyncio.run(main())
