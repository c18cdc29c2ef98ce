#!/usr/bin/env python3
"""Loopback load test of an OpenAI-compatible server with concurrent streaming chat clients.

Standard library only. For each concurrency level C, C clients each send requests one after another
(stream=True, greedy, max_tokens T) until the level has sent R requests or D seconds passed; reports
throughput (generated tokens/s over the level's wall time), p50/p99 time to first token, p50/p99
inter-token latency, errors, and the server's RSS before/after (from /proc/PID/status).

Tokens are counted from the final `usage` chunk (stream_options.include_usage) when the server sends one,
else as streamed content chunks. With --faults, each level also runs misbehaving clients next to the load:
mid-stream disconnects, malformed JSON, oversized bodies, wrong types, an unknown model and slow readers;
each must get its expected answer (400/404/413, or a complete stream for the slow reader) and the server
must stay up.

usage: load_test.py --port P --model ID [--pid SERVER_PID] [--levels 1,4,16,64] [--requests 64]
                    [--max-tokens 32] [--seconds 60] [--api-key K] [--json out.json] [--faults] [--label NAME]
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

def request_bytes(args, body, path="/v1/chat/completions"):
    headers = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{args.port}", "Content-Type: application/json",
               f"Content-Length: {len(body)}", "Connection: close"]
    if args.api_key:
        headers.append(f"Authorization: Bearer {args.api_key}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body

def chat_body(args, prompt, **extra):
    return json.dumps({"model": args.model, "messages": [{"role": "user", "content": prompt}], "max_tokens": args.max_tokens,
                       "temperature": 0, "stream": True, "stream_options": {"include_usage": True}, **extra}).encode()

async def one_request(args, prompt, slow=0.0, disconnect_after=None):
    body = chat_body(args, prompt)
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
    writer.write(request_bytes(args, body))
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
    times, buffer, done, usage_tokens = [], b"", False, None
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
        if slow:
            await asyncio.sleep(slow)
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
            if obj.get("usage"):
                usage_tokens = obj["usage"].get("completion_tokens")
            for choice in obj.get("choices", []):
                if choice.get("delta", {}).get("content"):
                    times.append(time.perf_counter())
            if disconnect_after is not None and len(times) >= disconnect_after:
                writer.close()
                return {"ok": True, "disconnected": True}
    writer.close()
    if status != 200:
        return {"ok": False, "status": status}
    return {"ok": True, "ttft": (times[0] - start) if times else None, "itl": [b - a for a, b in zip(times, times[1:])],
            "chunks": len(times), "tokens": usage_tokens if usage_tokens is not None else len(times),
            "complete": done, "end": time.perf_counter()}

async def status_of(args, raw):
    """Sends raw request bytes while reading the answer; returns the HTTP status (or why there is none)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
        async def send():
            try:
                writer.write(raw)
                await writer.drain()
            except Exception:  # noqa: BLE001  (the server may answer and close before the body is sent)
                pass
        sender = asyncio.ensure_future(send())
        line = await asyncio.wait_for(reader.readline(), 60)
        sender.cancel()
        writer.close()
        return int(line.split()[1]) if line else "closed"
    except Exception as e:  # noqa: BLE001
        return type(e).__name__

async def fault_clients(args, deadline):
    """Misbehaving clients, looping until the deadline; returns (expected, unexpected) counts per kind."""
    results = {}
    def note(kind, ok):
        good, bad = results.get(kind, (0, 0))
        results[kind] = (good + (1 if ok else 0), bad + (0 if ok else 1))
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        note("malformed_json_400", await status_of(args, request_bytes(args, b'{"model": "x", "messages": [')) == 400)
        note("wrong_types_400", await status_of(args, request_bytes(args, json.dumps(
            {"model": args.model, "messages": "hello", "temperature": "hot"}).encode())) == 400)
        note("unknown_model_404", await status_of(args, request_bytes(args, json.dumps(
            {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}).encode())) == 404)
        big = b'{"model": "' + args.model.encode() + b'", "messages": [{"role": "user", "content": "' + b"a" * (args.oversize_mb << 20) + b'"}]}'
        # 413, or a reset when the server closes before reading the rest of the body.
        note("oversized_413", await status_of(args, request_bytes(args, big)) in (413, "ConnectionResetError"))
        try:
            r = await one_request(args, f"Fault {n}: tell me a story.", disconnect_after=2)
            note("disconnect_mid_stream", r.get("ok", False))
        except Exception:  # noqa: BLE001
            note("disconnect_mid_stream", False)
        try:
            r = await one_request(args, f"Fault {n}: count slowly.", slow=0.05)
            note("slow_reader_complete", r.get("ok", False) and r.get("complete", False))
        except Exception:  # noqa: BLE001
            note("slow_reader_complete", False)
    return results

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
    loads = asyncio.gather(*(client(i) for i in range(concurrency)))
    faults = None
    if args.faults:
        done_event = asyncio.Event()
        async def faults_until_done():
            out = {}
            while not done_event.is_set():
                part = await fault_clients(args, time.perf_counter() + 0.5)
                for k, (g, b) in part.items():
                    og, ob = out.get(k, (0, 0))
                    out[k] = (og + g, ob + b)
            return out
        fault_task = asyncio.ensure_future(faults_until_done())
        await loads
        wall = time.perf_counter() - start
        done_event.set()
        faults = await fault_task
    else:
        await loads
        wall = time.perf_counter() - start
    ok = [r for r in results if r["ok"]]
    tokens = sum(r["tokens"] for r in ok)
    ttft = [r["ttft"] for r in ok if r["ttft"] is not None]
    itl = [x for r in ok for x in r["itl"]]
    return {"concurrency": concurrency, "requests": len(results), "errors": len(results) - len(ok),
            "error_kinds": sorted({str(r["status"]) for r in results if not r["ok"]}),
            "wall_s": round(wall, 2), "tokens": tokens, "tokens_per_s": round(tokens / wall, 1),
            "ttft_p50_ms": round(pct(ttft, 50) * 1000, 1), "ttft_p99_ms": round(pct(ttft, 99) * 1000, 1),
            "itl_p50_ms": round(pct(itl, 50) * 1000, 1), "itl_p99_ms": round(pct(itl, 99) * 1000, 1),
            **({"faults": {k: {"expected": g, "unexpected": b} for k, (g, b) in sorted(faults.items())}} if faults is not None else {})}

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
    ap.add_argument("--faults", action="store_true", help="run misbehaving clients next to the load")
    ap.add_argument("--oversize-mb", type=int, default=5, help="size of the oversized body (above the server's limit)")
    ap.add_argument("--label", default="", help="a name printed with each result line")
    args = ap.parse_args()
    report = {"label": args.label, "rss_before_mb": rss_mb(args.pid), "levels": []}
    for c in [int(x) for x in args.levels.split(",")]:
        r = asyncio.run(level(args, c))
        r["rss_after_mb"] = rss_mb(args.pid)
        if args.label:
            r = {"label": args.label, **r}
        report["levels"].append(r)
        print(json.dumps(r), flush=True)
    report["rss_after_mb"] = rss_mb(args.pid)
    print(json.dumps({"rss_before_mb": report["rss_before_mb"], "rss_after_mb": report["rss_after_mb"]}))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)

if __name__ == "__main__":
    sys.exit(main())
