#!/usr/bin/env python3
"""Loopback load test of an OpenAI-compatible server with concurrent streaming chat clients.

Standard library only. For each concurrency level C, C clients each send requests one after another
(stream=True, greedy, max_tokens T) until the level has sent R requests or D seconds passed; reports
throughput (generated tokens/s over the level's wall time), p50/p99 time to first token, p50/p99
inter-token latency, errors, and the server's RSS before/after (from /proc/PID/status).

usage: load_test.py --port P --model ID [--pid SERVER_PID] [--levels 1,4,16,64] [--requests 64]
                    [--max-tokens 32] [--seconds 60] [--api-key K] [--json out.json]
"""
import argparse, asyncio, json, statistics, sys, time

def rss_mb(pid):
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None

def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]

async def one_request(args, prompt):
    body = json.dumps({"model": args.model, "messages": [{"role": "user", "content": prompt}], "max_tokens": args.max_tokens,
                       "temperature": 0, "stream": True}).encode()
    headers = [f"POST /v1/chat/completions HTTP/1.1", f"Host: 127.0.0.1:{args.port}", "Content-Type: application/json",
               f"Content-Length: {len(body)}", "Connection: close"]
    if args.api_key:
        headers.append(f"Authorization: Bearer {args.api_key}")
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
    writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower():
            chunked = True
    times, buffer, done = [], b"", False
    async def next_bytes():
        if not chunked:
            return await reader.read(65536)
        size_line = await reader.readline()
        if not size_line:
            return b""
        size = int(size_line.strip() or b"0", 16)
        if size == 0:
            return b""
        data = await reader.readexactly(size)
        await reader.readexactly(2)
        return data
    while not done:
        data = await next_bytes()
        if not data:
            break
        buffer += data
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            if not event.startswith(b"data: "):
                continue
            payload = event[6:]
            if payload == b"[DONE]":
                done = True
                break
            obj = json.loads(payload)
            if "error" in obj:
                status = 599
                done = True
                break
            for choice in obj.get("choices", []):
                if choice.get("delta", {}).get("content"):
                    times.append(time.perf_counter())
    writer.close()
    if status != 200:
        return {"ok": False, "status": status}
    return {"ok": True, "ttft": (times[0] - start) if times else None, "itl": [b - a for a, b in zip(times, times[1:])],
            "chunks": len(times), "end": time.perf_counter()}

async def level(args, concurrency):
    deadline = time.perf_counter() + args.seconds
    sent = 0
    results = []
    lock = asyncio.Lock()
    async def client(i):
        nonlocal sent
        while True:
            async with lock:
                if sent >= max(args.requests, concurrency) or time.perf_counter() > deadline:
                    return
                sent += 1
                n = sent
            try:
                results.append(await one_request(args, f"Request {n}: write a short poem about the number {n}."))
            except Exception as e:  # noqa: BLE001
                results.append({"ok": False, "status": type(e).__name__})
    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(concurrency)))
    wall = time.perf_counter() - start
    ok = [r for r in results if r["ok"]]
    tokens = sum(r["chunks"] for r in ok)
    ttft = [r["ttft"] for r in ok if r["ttft"] is not None]
    itl = [x for r in ok for x in r["itl"]]
    return {"concurrency": concurrency, "requests": len(results), "errors": len(results) - len(ok),
            "error_kinds": sorted({str(r["status"]) for r in results if not r["ok"]}),
            "wall_s": round(wall, 2), "tokens": tokens, "tokens_per_s": round(tokens / wall, 1),
            "ttft_p50_ms": round(pct(ttft, 50) * 1000, 1), "ttft_p99_ms": round(pct(ttft, 99) * 1000, 1),
            "itl_p50_ms": round(pct(itl, 50) * 1000, 1), "itl_p99_ms": round(pct(itl, 99) * 1000, 1)}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--levels", default="1,4,16,64")
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--api-key")
    ap.add_argument("--json")
    args = ap.parse_args()
    report = {"rss_before_mb": rss_mb(args.pid), "levels": []}
    for c in [int(x) for x in args.levels.split(",")]:
        r = asyncio.run(level(args, c))
        r["rss_after_mb"] = rss_mb(args.pid)
        report["levels"].append(r)
        print(json.dumps(r), flush=True)
    report["rss_after_mb"] = rss_mb(args.pid)
    print(json.dumps({"rss_before_mb": report["rss_before_mb"], "rss_after_mb": report["rss_after_mb"]}))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)

if __name__ == "__main__":
    sys.exit(main())
