#!/usr/bin/env python3
"""Side-by-side timing: transformers' apply_chat_template (render only, warm) vs `lfm chat-template` (whole process).

Pins: transformers==5.24.0 tokenizers==0.23.3 Jinja2==3.1.6. Build first: swift build -c release --product lfm
Run from the repository root: python Scripts/reference/chat/bench_chat_template.py [--lfm2-dir DIR]
The Swift number includes process start-up and JSON parsing, so the ratio understates the renderer itself;
the start-up alone is printed too (a one-message conversation).
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

from transformers import PreTrainedTokenizerFast

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


def timed(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lfm2-dir", default="/work/shared/fixtures/lfm2")
    ap.add_argument("--turns", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    lfm = os.path.join(ROOT, ".build", "release", "lfm")
    work = tempfile.mkdtemp()
    shutil.copyfile(os.path.join(args.lfm2_dir, "chat_template.jinja"), os.path.join(work, "chat_template.jinja"))
    with open(os.path.join(work, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<|startoftext|>", "eos_token": "<|im_end|>"}, f)
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(args.lfm2_dir, "tokenizer.json"),
                                  bos_token="<|startoftext|>", eos_token="<|im_end|>")
    template = open(os.path.join(work, "chat_template.jinja"), encoding="utf-8").read()
    msgs = [{"role": "system", "content": "You are helpful. é"}]
    for i in range(args.turns):
        msgs.append({"role": "user", "content": f"Question {i}: what about 日本 and {i * 7}?"})
        msgs.append({"role": "assistant",
                     "content": [{"type": "text", "text": f"Answer {i}"}] if i % 3 == 0 else f"Answer {i} " * 5})
    tools = [{"type": "function", "function": {"name": f"tool_{k}", "description": "d" * 50, "parameters": {
        "type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}}} for k in range(20)]
    mpath, tpath, spath = (os.path.join(work, n) for n in ("m.json", "t.json", "s.json"))
    json.dump(msgs, open(mpath, "w"), ensure_ascii=False)
    json.dump(tools, open(tpath, "w"))
    json.dump([{"role": "user", "content": "hi"}], open(spath, "w"))

    def py():
        return tok.apply_chat_template(msgs, tools=tools, chat_template=template, tokenize=False, add_generation_prompt=True)

    cmd = [lfm, "chat-template", "--model", work, "--messages", mpath, "--tools", tpath]
    expected = py()
    got = subprocess.run(cmd, capture_output=True, text=True).stdout
    assert got == expected, "outputs differ"
    py_t = timed(py, args.repeat)
    sw_t = timed(lambda: subprocess.run(cmd, capture_output=True), args.repeat)
    start_t = timed(lambda: subprocess.run([lfm, "chat-template", "--model", work, "--messages", spath],
                                           capture_output=True), args.repeat)
    print(f"{len(msgs)} messages + {len(tools)} tools -> {len(expected)} characters, outputs identical")
    print(f"transformers render (warm): {py_t * 1e3:.1f} ms")
    print(f"lfm chat-template process:  {sw_t * 1e3:.1f} ms (start-up alone {start_t * 1e3:.1f} ms)")
    print(f"ratio transformers/lfm (whole process): {py_t / sw_t:.2f}; excluding start-up: {py_t / max(sw_t - start_t, 1e-9):.2f}")


if __name__ == "__main__":
    main()
