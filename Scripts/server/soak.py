#!/usr/bin/env python3
"""Soak clients for `lfm serve` (driven by soak.sh): a steady mix of requests for a set time, with the
server's RSS and open file descriptors sampled throughout.

Standard library only. C workers each send one request after another, cycling through the kinds
  stream      streaming chat completion read to [DONE]                       (load_test.one_request)
  structured  chat with response_format json_schema (non-streamed), content must parse as JSON
  tools       chat with one tool and tool_choice "required": the answer must carry tool_calls
  cancel      streaming chat abandoned after 3 content chunks (the server must free the slot)
  bad         a rotating bad request: broken JSON, wrong type, unknown model, no messages (400/404)
  slow        streaming chat read slowly (a pause after every read) to [DONE]
A request is an error when its status (or the shape of its answer) is not the expected one; errors
are counted by kind and reason. Latency is per request, from connect to the last byte.

Before the load: one request of each kind, a pause, then the baseline RSS / fd count. Every
--sample-seconds (default 60): RSS and fds. After the load: a pause (--settle), then the final
sample, which must be within --rss-slack-mb (and --rss-slack-pct) and --fd-slack of the baseline.

usage: soak.py --port P --model ID --pid SERVER_PID [--minutes 30] [--concurrency 6] [--max-tokens 24]
               [--sample-seconds 60] [--settle 5] [--rss-slack-mb 32] [--rss-slack-pct 10] [--fd-slack 2]
Last stdout line: one JSON object {"pass", "requests", "errors", "kinds": {...}, "samples": [...], "baseline", "final"}.
"""
import argparse, asyncio, json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load_test  # noqa: E402

KINDS = ["stream", "structured", "tools", "cancel", "bad", "slow"]

def process_sample(pid):
    rss = None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    return {"rss_mb": round(rss, 1) if rss is not None else None, "fds": fds}

async def post(args, body, timeout=300):
    """POSTs raw body bytes to /v1/chat/completions with Connection: close; returns (status, decoded body bytes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
    try:
        writer.write(load_test.request_bytes(args, body))
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    if any(l.lower().startswith(b"transfer-encoding:") and b"chunked" in l.lower() for l in lines[1:]):
        out = b""
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.strip() or b"0", 16)
            if size == 0:
                break
            out += rest[:size]
            rest = rest[size + 2:]
        rest = out
    return status, rest

def chat(args, prompt, stream=False, **extra):
    return {"model": args.model, "messages": [{"role": "user", "content": prompt}], "max_tokens": args.max_tokens,
            "temperature": 0, "stream": stream, **extra}

SCHEMA = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}, "rank": {"type": "integer"}},
          "required": ["city", "rank"], "additionalProperties": False}
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}}, "required": ["city"]}}}

async def post_json(args, body):
    """POSTs a non-streaming request; (parsed answer, None) or (None, error kind)."""
    status, data = await post(args, json.dumps(body).encode())
    if status != 200:
        return None, f"http_{status}"
    obj = json.loads(data)
    if "error" in obj:
        return None, "error_object"
    return obj, None


async def run_kind(args, kind, n):
    """Runs one request of `kind`; returns None when it behaved as expected, else the reason."""
    if kind in ("stream", "slow", "cancel"):
        r = await load_test.one_request(args, f"Tell me a story, part {n}.", slow=0.05 if kind == "slow" else 0.0,
                                        disconnect_after=3 if kind == "cancel" else None)
        if not r.get("ok"):
            return "error_event" if r.get("status") == 599 else f"http_{r.get('status')}"
        if kind == "cancel":
            return None if r.get("disconnected") or r.get("complete") else "cancel_not_reached"
        return None if r.get("complete") else "no_done"
    if kind == "structured":
        body = chat(args, f"Name a city ({n}) as JSON.", max_tokens=64,
                    response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": SCHEMA}})
        obj, failure = await post_json(args, body)
        if failure:
            return failure
        choice = obj["choices"][0]
        if choice.get("finish_reason") == "length":
            return None  # a budget cut is a valid answer; the schema bounds what was generated
        json.loads(choice["message"]["content"])
        return None
    if kind == "tools":
        body = chat(args, f"What is the weather in Paris? ({n})", max_tokens=64, tools=[TOOL], tool_choice="required")
        obj, failure = await post_json(args, body)
        if failure:
            return failure
        calls = obj["choices"][0]["message"].get("tool_calls") or []
        return None if calls and calls[0]["function"]["name"] == "get_weather" else "no_tool_call"
    if kind == "bad":
        variant = n % 4
        if variant == 0:
            body, want = b'{"model": "x", "messages": [', 400
        elif variant == 1:
            body, want = json.dumps(chat(args, "hi") | {"max_tokens": "many"}).encode(), 400
        elif variant == 2:
            body, want = json.dumps(chat(args, "hi") | {"model": "no-such-model"}).encode(), 404
        else:
            body, want = json.dumps({"model": args.model}).encode(), 400
        status, _ = await post(args, body)
        return None if status == want else f"bad_got_{status}_want_{want}"
    raise ValueError(kind)

async def timed(args, kind, n, stats):
    start = time.perf_counter()
    try:
        reason = await run_kind(args, kind, n)
    except Exception as e:  # noqa: BLE001  (a failure to count, with its type)
        reason = type(e).__name__
    seconds = time.perf_counter() - start
    s = stats.setdefault(kind, {"requests": 0, "errors": {}, "latencies": []})
    s["requests"] += 1
    s["latencies"].append(seconds)
    if reason:
        s["errors"][reason] = s["errors"].get(reason, 0) + 1
        if sum(s["errors"].values()) <= 5:
            print(f"error: {kind}: {reason}", file=sys.stderr)

async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--concurrency", type=int, default=6)
    ap.add_argument("--max-tokens", type=int, default=24)
    ap.add_argument("--sample-seconds", type=float, default=60)
    ap.add_argument("--settle", type=float, default=5)
    ap.add_argument("--rss-slack-mb", type=float, default=32)
    ap.add_argument("--rss-slack-pct", type=float, default=10)
    ap.add_argument("--fd-slack", type=int, default=2)
    ap.add_argument("--api-key")
    args = ap.parse_args()

    warm = {}
    for i, kind in enumerate(KINDS):
        await timed(args, kind, i, warm)
    await asyncio.sleep(args.settle)
    baseline = process_sample(args.pid)
    print(f"baseline: {baseline}", file=sys.stderr)
    t0 = time.time()
    deadline = t0 + args.minutes * 60
    samples = [{"t_s": 0, **baseline}]
    stats = {}

    async def worker(w):
        n = 0
        while time.time() < deadline:
            await timed(args, KINDS[(w + n) % len(KINDS)], n, stats)
            n += 1

    async def sampler():
        while time.time() < deadline:
            await asyncio.sleep(min(args.sample_seconds, max(0.0, deadline - time.time())))
            sample = process_sample(args.pid)
            if sample is None:
                print("the server process is gone", file=sys.stderr)
                return
            done = sum(s["requests"] for s in stats.values())
            errs = sum(sum(s["errors"].values()) for s in stats.values())
            samples.append({"t_s": round(time.time() - t0), **sample, "requests": done, "errors": errs})
            print(f"t={samples[-1]['t_s']:5d}s rss={sample['rss_mb']} MB fds={sample['fds']} requests={done} errors={errs}", file=sys.stderr)

    await asyncio.gather(sampler(), *(worker(w) for w in range(args.concurrency)))
    await asyncio.sleep(args.settle)
    final = process_sample(args.pid)
    print(f"final: {final}", file=sys.stderr)

    def pct(values, p):
        return round(load_test.pct(values, p) * 1000, 1) if values else None
    kinds = {k: {"requests": s["requests"], "errors": s["errors"], "p50_ms": pct(s["latencies"], 50), "p99_ms": pct(s["latencies"], 99)}
             for k, s in sorted(stats.items())}
    for k, s in kinds.items():
        print(f"{k:>11}: {s['requests']:6d} requests, errors {s['errors'] or 0}, p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms", file=sys.stderr)
    rss_limit = baseline["rss_mb"] * (1 + args.rss_slack_pct / 100) + args.rss_slack_mb
    rss_ok = final is not None and final["rss_mb"] <= rss_limit
    fds_ok = final is not None and final["fds"] <= baseline["fds"] + args.fd_slack
    errors = sum(sum(s["errors"].values()) for s in stats.values())
    result = {"pass": bool(rss_ok and fds_ok and errors == 0), "minutes": args.minutes, "concurrency": args.concurrency,
              "requests": sum(s["requests"] for s in stats.values()), "errors": errors, "kinds": kinds,
              "baseline": baseline, "final": final, "rss_limit_mb": round(rss_limit, 1), "rss_ok": rss_ok, "fds_ok": fds_ok,
              "peak_rss_mb": max(s["rss_mb"] for s in samples + ([final] if final else [])), "samples": samples}
    print(json.dumps(result))

if __name__ == "__main__":
    asyncio.run(main())
