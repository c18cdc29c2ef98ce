"""Drives a running `lfm serve` with the official openai Python SDK (pinned in openai_client_test.sh).

Usage: python openai_client_test.py BASE_URL MODEL_ID API_KEY
Prints one line per check and exits non-zero if any failed.
"""
import json, sys
import openai
from openai import OpenAI

base, model, key = sys.argv[1], sys.argv[2], sys.argv[3]
client = OpenAI(base_url=base, api_key=key, max_retries=0, timeout=120)
failures = []

def check(name, condition, detail=""):
    print(("PASS " if condition else "FAIL ") + name + (f" ({detail})" if detail else ""), flush=True)
    if not condition:
        failures.append(name)

def expect_error(name, cls, fn):
    try:
        fn()
        check(name, False, "no error raised")
    except cls as e:
        check(name, True, f"{type(e).__name__} {getattr(e, 'status_code', '')}")
    except Exception as e:  # noqa: BLE001
        check(name, False, f"raised {type(e).__name__}: {e}")

models = client.models.list()
check("models.list", [m.id for m in models.data] == [model], str([m.id for m in models.data]))

chat = client.chat.completions.create(model=model, messages=[{"role": "system", "content": "Be brief."},
                                                              {"role": "user", "content": "Say hello."}],
                                      max_tokens=8, temperature=0)
check("chat: object", chat.object == "chat.completion" and chat.id.startswith("chatcmpl-"))
check("chat: choice", chat.choices[0].message.role == "assistant" and chat.choices[0].finish_reason in ("stop", "length"))
check("chat: usage", chat.usage.total_tokens == chat.usage.prompt_tokens + chat.usage.completion_tokens > 0)

stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Say hello."}], max_tokens=8,
                                        temperature=0, stream=True, stream_options={"include_usage": True})
pieces, finish, usage, chunks = [], None, None, 0
for chunk in stream:
    chunks += 1
    if chunk.usage is not None:
        usage = chunk.usage
    for choice in chunk.choices:
        if choice.delta.content:
            pieces.append(choice.delta.content)
        if choice.finish_reason:
            finish = choice.finish_reason
whole = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0)
check("stream: chunks + finish", chunks >= 3 and finish in ("stop", "length"), f"{chunks} chunks, finish {finish}")
check("stream: usage chunk", usage is not None and usage.completion_tokens == whole.usage.completion_tokens)
check("stream == non-stream (greedy)", "".join(pieces) == whole.choices[0].message.content)

tools = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                          "required": ["city"]}}}]
tool_reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather in Paris?"}],
                                            tools=tools, tool_choice="auto", max_tokens=16, temperature=0)
calls = tool_reply.choices[0].message.tool_calls or []
check("tools: request accepted", tool_reply.choices[0].finish_reason in ("stop", "length", "tool_calls"),
      f"finish {tool_reply.choices[0].finish_reason}, {len(calls)} calls")
for call in calls:
    check("tools: call shape", call.type == "function" and isinstance(json.loads(call.function.arguments), dict))
followup = client.chat.completions.create(model=model, max_tokens=8, temperature=0, tools=tools, messages=[
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
                                                          "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "22 C, sunny"}])
check("tools: tool-result turn", followup.choices[0].message.role == "assistant")

completion = client.completions.create(model=model, prompt="Once upon a time", max_tokens=6, temperature=0)
check("completions", completion.object == "text_completion" and completion.usage.completion_tokens >= 1)
seeded = [client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Pick a word."}], max_tokens=6,
                                         temperature=1.0, top_p=0.9, seed=1234).choices[0].message.content for _ in range(2)]
check("seed reproducible", seeded[0] == seeded[1])

expect_error("error: unknown model -> 404", openai.NotFoundError,
             lambda: client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}]))
expect_error("error: n=2 -> 400", openai.BadRequestError,
             lambda: client.chat.completions.create(model=model, n=2, messages=[{"role": "user", "content": "x"}]))
expect_error("error: json_schema -> 400", openai.BadRequestError,
             lambda: client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}],
                                                    response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}))
expect_error("error: bad temperature -> 400", openai.BadRequestError,
             lambda: client.chat.completions.create(model=model, temperature=5, messages=[{"role": "user", "content": "x"}]))
bad = OpenAI(base_url=base, api_key="wrong-key", max_retries=0)
expect_error("error: wrong key -> 401", openai.AuthenticationError, lambda: bad.models.list())

print(f"{'FAILED: ' + ', '.join(failures) if failures else 'ALL PASSED'}")
sys.exit(1 if failures else 0)
