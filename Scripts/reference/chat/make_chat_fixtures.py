#!/usr/bin/env python3
"""Renders the chat-template fixtures of Tests/LFMChatTests with transformers' own apply_chat_template.

Requirements (exact pins): transformers==5.24.0 tokenizers==0.23.3 Jinja2==3.1.6
    python3.11 -m venv venv && venv/bin/pip install transformers==5.24.0 tokenizers==0.23.3 Jinja2==3.1.6
Run from the repository root:
    venv/bin/python Scripts/reference/chat/make_chat_fixtures.py
(PyTorch is not needed: only the tokenizer and the Jinja renderer are used.)

Writes into Tests/LFMChatTests/Fixtures/:
  lfm2/chat_template.jinja, lfm2/README.md   copies of /work/shared/fixtures/lfm2 (or --lfm2-dir)
  templates/*.jinja                           the other templates (from Scripts/reference/chat/templates)
  chat_cases.json    conversations rendered by PreTrainedTokenizerFast.apply_chat_template(tokenize=False)
  jinja_cases.json   small templates per Jinja construct, rendered by the very environment transformers
                     compiles chat templates with (or the error it raises)
  random_cases.json  random expression/statement templates and random whitespace-control layouts
                     (random_cases.py, fixed seeds), same environment
"""
import argparse
import copy
import datetime as real_datetime
import json
import os
import shutil
import sys

import jinja2
import tokenizers
import transformers
from transformers import PreTrainedTokenizerFast
from transformers.utils import chat_template_utils

assert transformers.__version__ == "5.24.0", transformers.__version__
assert jinja2.__version__ == "3.1.6", jinja2.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
OUT = os.path.join(ROOT, "Tests", "LFMChatTests", "Fixtures")

# strftime_now() reads datetime.now(); freeze it so the fixtures are reproducible. The frozen wall-clock time
# is stored in the cases and the Swift tests feed the same local time to the renderer.
FROZEN_NOW = real_datetime.datetime(2026, 3, 7, 9, 5, 3)


class FrozenDatetime(real_datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return FROZEN_NOW


chat_template_utils.datetime = FrozenDatetime

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search_docs",
        "description": "Search the documentation; returns the top matches.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
                "exact": {"type": "boolean"},
                "score": {"type": "number", "default": 0.5},
            },
            "required": ["query"],
        },
    },
}

SYS = {"role": "system", "content": "You are a concise assistant."}
U1 = {"role": "user", "content": "What is the capital of France?"}
A1 = {"role": "assistant", "content": "Paris."}
U2 = {"role": "user", "content": "And of Japan?"}


def tool_call_msg(arguments, content=None, call_id="call_1", name="get_weather"):
    msg = {"role": "assistant", "content": content,
           "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}]}
    return msg


def tool_msg(content, call_id="call_1", name="get_weather"):
    return {"role": "tool", "tool_call_id": call_id, "name": name, "content": content}


def lfm2_cases():
    weather_q = {"role": "user", "content": "Weather in Paris, in celsius?"}
    return [
        ("lfm2/single_user", [U1], None, True),
        ("lfm2/single_user_no_gen", [U1], None, False),
        ("lfm2/system_user", [SYS, U1], None, True),
        ("lfm2/multi_turn", [SYS, U1, A1, U2], None, True),
        ("lfm2/multi_turn_ends_assistant", [U1, A1], None, False),
        ("lfm2/tools_no_system", [weather_q], [WEATHER_TOOL], True),
        ("lfm2/tools_with_system", [SYS, weather_q], [WEATHER_TOOL, SEARCH_TOOL], True),
        ("lfm2/tool_call_string_args",
         [SYS, weather_q, tool_call_msg('{"city": "Paris", "unit": "celsius"}',
                                         content='<|tool_call_start|>[get_weather(city="Paris", unit="celsius")]<|tool_call_end|>'),
          tool_msg('{"temperature": 18, "condition": "sunny"}'),
          {"role": "assistant", "content": "It is 18 °C and sunny in Paris."}], [WEATHER_TOOL], False),
        ("lfm2/tool_call_dict_args",
         [weather_q, tool_call_msg({"city": "Paris", "unit": "celsius"}, content="<|tool_call_start|>[get_weather(city=\"Paris\")]<|tool_call_end|>"),
          tool_msg({"temperature": 18, "details": {"wind": "5 km/h", "ok": True, "rain": None}})], [WEATHER_TOOL], True),
        ("lfm2/content_parts",
         [{"role": "user", "content": [{"type": "text", "text": "Describe this."}, {"type": "image", "url": "x.png"}]}],
         None, True),
        # transformers drops None-valued keys, so LFM2's `content | tojson` meets Undefined and raises.
        ("lfm2/content_null_dropped", [U1, {"role": "assistant", "content": None}], None, False),
        ("lfm2/tool_call_null_content_raises", [U1, tool_call_msg('{"city": "Paris"}')], [WEATHER_TOOL], False),
        ("lfm2/unicode",
         [{"role": "system", "content": "Réponds en français. 日本語も OK 🙂"},
          {"role": "user", "content": "Ça va ? — «quotes» \"double\" 'single' \\ back\\slash\ttab"}], None, True),
        ("lfm2/unicode_tool",
         [{"role": "user", "content": "Météo à Zürich?"}],
         [{"type": "function", "function": {"name": "météo", "description": "Prévisions — «ville» 東京",
                                             "parameters": {"type": "object", "properties": {"ville": {"type": "string"}}}}}],
         True),
        # transformers rejects tools that are not dicts (or Python functions).
        ("lfm2/string_tools_rejected", [U1], ["get_time()"], True),
        ("lfm2/empty_system", [{"role": "system", "content": ""}, U1], None, True),
        ("lfm2/empty_system_with_tools", [{"role": "system", "content": ""}, U1], [SEARCH_TOOL], True),
        ("lfm2/multiline_content",
         [{"role": "user", "content": "line one\nline two\n\n  indented\r\nwindows line"}], None, True),
        ("lfm2/reasoning_field",
         [U1, {"role": "assistant", "content": "Paris.", "reasoning_content": "The user asks about France."}], None, False),
        ("lfm2/numbers_in_tool_content",
         [U1, tool_msg([1, 2.5, 1e20, -0.0, 3.14159, 10000000000000000.0, 1e-7, True, None])], None, True),
        ("lfm2/assistant_only", [{"role": "assistant", "content": "Hello!"}], None, True),
        ("lfm2/tools_empty_list", [U1], [], True),
        ("lfm2/key_order",
         [{"content": "content first", "role": "user"}],
         [{"function": {"parameters": {"z": 1, "a": 2, "m": {"y": 1, "b": 2}}, "name": "zeta"}, "type": "function"}],
         True),
    ]


def chatml_cases():
    q = {"role": "user", "content": "Weather in Paris?"}
    return [
        ("chatml/no_system", [U1], None, True),
        ("chatml/system_multi", [SYS, U1, A1, U2], None, True),
        ("chatml/tools", [q], [WEATHER_TOOL, SEARCH_TOOL], True),
        ("chatml/tools_system_calls",
         [SYS, q, tool_call_msg({"city": "Paris"}, content="Let me check."),
          tool_msg('{"temperature": 18}'),
          tool_msg("second result", call_id="call_2"),
          {"role": "assistant", "content": "18 degrees."}], [WEATHER_TOOL], True),
        ("chatml/unicode", [{"role": "user", "content": "日本語 🙂 «ok»"}], [WEATHER_TOOL], False),
    ]


def llama3_cases():
    q = {"role": "user", "content": "  Weather in Paris?  "}
    date = {"date_string": "26 Jul 2024"}
    return [
        ("llama3/plain", [SYS, U1, A1, U2], None, True, date),
        ("llama3/no_system_frozen_clock", [U1], None, True, {}),
        ("llama3/tools_in_user", [SYS, q], [WEATHER_TOOL], True, date),
        ("llama3/tools_in_system",
         [q, tool_call_msg({"city": "Paris", "unit": "celsius"}), tool_msg("18 degrees")], [WEATHER_TOOL], True,
         {"date_string": "1 Jan 2025", "tools_in_user_message": False}),
        ("llama3/tool_dict_content", [q, tool_call_msg({"city": "Paris"}), tool_msg({"t": 18})], [WEATHER_TOOL], False, date),
        ("llama3/two_tool_calls_raises",
         [q, {"role": "assistant", "tool_calls": [
             {"type": "function", "function": {"name": "a", "arguments": {}}},
             {"type": "function", "function": {"name": "b", "arguments": {}}}]}], [WEATHER_TOOL], False, date),
    ]


def macro_cases():
    return [
        ("macro/simple", [U1, A1, U2], None, True),
        ("macro/parts", [{"role": "user", "content": [{"type": "text", "text": "first"}, {"type": "image"},
                                                      {"type": "text", "text": "  second  "}]}], None, False),
        ("macro/bad_alternation", [U1, U2], None, True),
    ]


def thinking_cases():
    q = {"role": "user", "content": "Weather in Paris?"}
    return [
        ("thinking/plain", [U1], None, True, {}),
        ("thinking/disabled", [SYS, U1], None, True, {"enable_thinking": False}),
        ("thinking/enabled_explicit", [U1], None, True, {"enable_thinking": True}),
        ("thinking/history_dropped",
         [SYS, U1, {"role": "assistant", "content": "<think>\nParis is in France.\n</think>\n\nParis."}, U2], None, True, {}),
        ("thinking/last_kept",
         [U1, {"role": "assistant", "content": "Paris.", "reasoning_content": "Easy one."}], None, False, {}),
        ("thinking/reasoning_alias",
         [U1, {"role": "assistant", "content": "Paris.", "reasoning": "Alias field."}], None, False, {}),
        ("thinking/tools_multi_step",
         [SYS, q, {"role": "assistant", "content": "<think>need tool</think>", "tool_calls": [
             {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
             {"type": "function", "function": {"name": "search_docs", "arguments": "{\"query\": \"paris\"}"}}]},
          tool_msg('{"t": 18}'), tool_msg({"hits": ["a", "b"]}, name="search_docs"),
          {"role": "assistant", "content": "It is 18."}], [WEATHER_TOOL, SEARCH_TOOL], True, {}),
        ("thinking/tool_response_as_user",
         [q, {"role": "user", "content": "<tool_response>x</tool_response>"}, {"role": "assistant", "content": "ok"}],
         None, True, {"enable_thinking": False}),
    ]


def render_case(tok, template, name, messages, tools, gen, extra):
    extra = dict(extra)
    cont = extra.pop("continue_final_message", False)
    case = {"name": name, "template": template, "messages": messages, "tools": tools,
            "add_generation_prompt": gen, "continue_final_message": cont, "extra_context": extra,
            "bos_token": tok.bos_token, "eos_token": tok.eos_token,
            "now": FROZEN_NOW.strftime("%Y-%m-%dT%H:%M:%S")}
    try:
        case["expected"] = tok.apply_chat_template(messages, tools=tools, chat_template=TEMPLATES[template],
                                                   tokenize=False, add_generation_prompt=gen,
                                                   continue_final_message=cont, **extra)
    except Exception as e:  # the template raised on purpose
        case["error"] = {"type": type(e).__name__, "message": str(e)}
    return case


# name -> (template, context) rendered by the transformers environment; "error" recorded when it raises.
def jinja_cases():
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    c = []

    def add(name, template, **context):
        c.append((name, template, context))

    # whitespace control, trim_blocks, lstrip_blocks
    add("ws/trim_blocks", "{% if true %}\nyes\n{% endif %}\nafter")
    add("ws/lstrip_blocks", "  {% if true %}\n  x\n  {% endif %}\n  {{ 'v' }}  \n  {# c #}\ny")
    add("ws/minus_both", "a  \n  {%- if true -%}  \n  b  \n  {%- endif -%}  \n  c")
    add("ws/variable_minus", "a \n {{- 'x' -}} \n b")
    add("ws/plus_disables", "a\n  {%+ if true %}b{% endif +%}\nc")
    add("ws/comment_minus", "a  {#- note -#}  b\n{# line #}\nc")
    add("ws/raw", "{% raw %}\n  {{ x }} {% if %}\n  {% endraw %}\nq")
    add("ws/tabs_and_crlf", "\t{% if true %}\r\n\tT\r\n\t{% endif %}\r\nend\r\n")
    add("ws/inline_block_not_line_start", "x {% if true %}y{% endif %} z\n")
    add("ws/trailing_newline_dropped", "hello\n")
    add("ws/nested_braces", "{{ {'a': {'b': 1}} }}|{{ [{'c': [1, {'d': 2}]}] }}")
    # loops
    add("loop/vars", "{% for x in xs %}{{ loop.index }},{{ loop.index0 }},{{ loop.revindex }},{{ loop.revindex0 }},"
        "{{ loop.first }},{{ loop.last }},{{ loop.length }},{{ loop.previtem }},{{ loop.nextitem }};{% endfor %}",
        xs=["a", "b", "c"])
    add("loop/else", "{% for x in [] %}x{% else %}empty{% endfor %}")
    add("loop/filter", "{% for x in [1,2,3,4,5] if x is odd %}{{ x }}{{ loop.length }}{% if not loop.last %},{% endif %}{% endfor %}")
    add("loop/break_continue", "{% for i in range(10) %}{% if i == 1 %}{% continue %}{% endif %}{% if i > 4 %}{% break %}{% endif %}{{ i }}{% endfor %}")
    add("loop/scope", "{% set x = 1 %}{% for i in [1,2] %}{{ x }}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}")
    add("loop/iteration_scope", "{% for i in [1,2] %}{% if loop.first %}{% set y = 5 %}{% endif %}[{{ y }}]{% endfor %}")
    add("loop/dict_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", d={"b": 1, "a": [1, 2]})
    add("loop/dict_keys", "{% for k in d %}{{ k }}{% endfor %}", d={"z": 1, "y": 2})
    add("loop/string", "{% for ch in 'héllo' %}{{ ch }}.{% endfor %}")
    add("loop/cycle", "{% for i in range(5) %}{{ loop.cycle('a', 'b') }}{% endfor %}")
    add("loop/nested_loop_var", "{% for a in [1,2] %}{% for b in [3,4] %}{{ loop.index }}{% endfor %}{{ loop.index }}|{% endfor %}")
    add("loop/recursive", "{% for n in tree recursive %}[{{ loop.depth }}:{{ n.name }}{% if n.children %}{{ loop(n.children) }}{% endif %}]{% endfor %}",
        tree=[{"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}, {"name": "d"}]}, {"name": "e"}])
    add("loop/recursive_filtered", "{% for n in tree if n.keep recursive %}{{ loop.depth0 }}{{ n.name }}{{ loop(n.children or []) }}{% endfor %}",
        tree=[{"name": "a", "keep": True, "children": [{"name": "x", "keep": False}, {"name": "y", "keep": True}]},
              {"name": "b", "keep": False}])
    add("loop/changed", "{% for x in [1, 1, 2, 2, 1] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}")
    add("loop/undefined_iterable", "{% for x in missing %}x{% else %}none{% endfor %}")
    add("loop/tuple_unpack", "{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }}{% endfor %}")
    # set and namespace
    add("set/basic", "{% set a = 1 %}{% set b, c = 2, 3 %}{{ a }}{{ b }}{{ c }}")
    add("set/block", "{% set s %}  hello {{ 'world' }}  {% endset %}[{{ s }}]")
    add("set/block_filter", "{% set s | upper | trim %}  hello  {% endset %}[{{ s }}]")
    add("set/namespace", "{% set ns = namespace(count=0, found=false) %}{% for m in msgs %}{% set ns.count = ns.count + 1 %}"
        "{% if m.role == 'assistant' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }}", msgs=msgs)
    add("set/namespace_dict_arg", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{{ ns['a'] }}")
    add("set/in_if_leaks", "{% if true %}{% set z = 'leak' %}{% endif %}{{ z }}")
    add("set/messages_slice", "{% set messages = msgs[1:] %}{{ messages | length }}{{ messages[0].content }}", msgs=msgs)
    # macros
    add("macro/defaults_kwargs", "{% macro m(a, b=2, c='x') %}{{ a }}-{{ b }}-{{ c }}{% endmacro %}{{ m(1) }}|{{ m(1, 3) }}|{{ m(1, c='z') }}|{{ m }}")
    add("macro/recursive", "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(4) }}")
    add("macro/call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inner{% endcall %}")
    add("macro/sees_globals", "{% set g = 'G' %}{% macro m() %}{{ g }}{{ bos_token }}{% endmacro %}{{ m() }}", bos_token="<s>")
    add("macro/missing_arg_undefined", "{% macro m(a, b) %}[{{ b }}]{% endmacro %}{{ m(1) }}")
    # expressions
    add("expr/arith", "{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 10 / 4 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 7 % -3 }}|"
        "{{ 2 ** 10 }}|{{ 2 ** -1 }}|{{ 2 ** 3 ** 2 }}|{{ 1.5 + 1 }}|{{ 7.5 // 2 }}|{{ -2 ** 2 }}|{{ True + 1 }}")
    add("expr/concat", "{{ 'a' ~ 1 ~ none ~ true ~ [1] ~ missing }}|{{ 'ab' * 3 }}|{{ [1] * 2 }}|{{ [1] + [2] }}")
    add("expr/compare", "{{ 1 < 2 < 3 }}|{{ 1 < 2 > 3 }}|{{ 'a' < 'b' }}|{{ 1 == 1.0 }}|{{ [1,2] == [1,2] }}|{{ 'a' != 'a' }}|"
        "{{ [1,2] < [1,3] }}|{{ none == none }}|{{ missing == none }}")
    add("expr/in", "{{ 'a' in 'cat' }}|{{ 2 in [1,2] }}|{{ 'k' in {'k': 1} }}|{{ 'x' not in 'abc' }}|{{ 'v' in {'k': 'v'} }}")
    add("expr/logic", "{{ 0 or 'b' }}|{{ 'a' and 'b' }}|{{ '' and 'b' }}|{{ not none }}|{{ none or [] }}|{{ not 1 == 2 }}")
    add("expr/conditional", "{{ 'y' if true else 'n' }}|{{ 'y' if false }}|{{ 1 if 0 else 2 if 0 else 3 }}")
    add("expr/literals", "{{ [1, 'a', None, True, 1.5, {'k': (1,)}] }}|{{ (1, 2) }}|{{ () }}|{{ {} }}|{{ 1e20 }}|{{ 1.0 }}|"
        "{{ 3.0e-5 }}|{{ 123456789012345678.0 }}|{{ 0.1 + 0.2 }}|{{ 1_000 }}|{{ \"it's\" }}|{{ ['it\\'s', 'a\"b', 'x\\ny', 'é\\u2028'] }}")
    add("expr/string_escapes", "{{ 'tab\\there' }}|{{ \"nl\\nx\" }}|{{ '\\u00e9\\x41' }}|{{ 'a' 'b' }}|{{ '\\d' }}")
    add("expr/subscript", "{{ d.a }}|{{ d['a'] }}|{{ l[0] }}|{{ l[-1] }}|{{ l.1 }}|{{ d.missing }}|{{ l[10] }}|{{ d['items'] }}",
        d={"a": "A", "items": "I"}, l=[1, 2, 3])
    add("expr/slicing", "{{ 'abcdef'[1:3] }}|{{ 'abcdef'[::-1] }}|{{ 'abcdef'[::2] }}|{{ l[1:] }}|{{ l[:-1] }}|{{ l[-2:] }}|"
        "{{ l[5:] }}|{{ l[::-1] }}|{{ l[3:0:-1] }}|{{ l[-100:100] }}", l=[1, 2, 3, 4])
    add("expr/dict_methods", "{{ d.items() | list }}|{{ d.keys() | list }}|{{ d.values() | list }}|{{ d.get('a') }}|"
        "{{ d.get('zz', 'dflt') }}|{{ d.get('zz') }}", d={"a": 1, "b": [2]})
    add("expr/string_methods", "{{ '  x  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  x '.lstrip() }}|{{ ' x  '.rstrip() }}|"
        "{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'abc'.startswith('ab') }}|"
        "{{ 'abc'.endswith(('x', 'c')) }}|{{ 'aBc'.upper() }}|{{ 'aBc'.lower() }}|{{ 'a-b'.replace('-', '+') }}|"
        "{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}|{{ 'a{}b{}'.format(1, 'x') }}|{{ 'abcabc'.count('b') }}|"
        "{{ 'abc'.find('c') }}|{{ '-'.join(['a', 'b']) }}|{{ 'a b'.rsplit(' ', 1) }}")
    add("expr/unary", "{{ -1 }}|{{ +2 }}|{{ -1 | abs }}|{{ - 2.5 }}|{{ not true }}")
    add("expr/filter_precedence", "{{ 'a' + 'B' | lower }}|{{ 'x' ~ ' y ' | trim }}")
    add("expr/none_attr", "{{ n.x }}|{{ n['x'] }}|", n=None)
    # filters
    add("filter/tojson", "{{ v | tojson }}|{{ v | tojson(indent=2) }}|{{ v | tojson(sort_keys=true) }}|"
        "{{ v | tojson(separators=(',', ':')) }}|{{ v | tojson(ensure_ascii=true) }}|{{ 'x' | tojson }}|{{ none | tojson }}|"
        "{{ 1.0 | tojson }}|{{ [] | tojson(indent=2) }}|{{ v | tojson(indent='\t') }}",
        v={"b": [1, {}, []], "a": "é\"\\\n\u2028\x7f\x01🙂", "c": None, "d": True, "e": 1.5e-7})
    add("filter/strings", "{{ ' a ' | trim }}|{{ 'xax' | trim('x') }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|"
        "{{ 'hello wORLD-foo(bar' | title }}|{{ 'hELLO' | capitalize }}|{{ 'aXa' | replace('a', 'b') }}|"
        "{{ 'a a a' | replace('a', 'b', 2) }}|{{ 5 | string }}|{{ 'x' | safe }}|{{ '<&>' | e }}|{{ 'one two three' | wordcount }}")
    add("filter/length", "{{ 'héllo' | length }}|{{ [1,2] | count }}|{{ {'a':1} | length }}|{{ missing | length }}")
    add("filter/default", "{{ missing | default('d') }}|{{ none | default('d') }}|{{ '' | default('d', true) }}|"
        "{{ 'v' | d('d') }}|{{ missing | default }}|")
    add("filter/first_last_list", "{{ [1,2,3] | first }}|{{ [1,2,3] | last }}|{{ 'abc' | first }}|{{ 'abc' | list }}|"
        "{{ {'a':1,'b':2} | list }}|{{ [] | first }}")
    add("filter/join", "{{ [1, 'a', none] | join }}|{{ ['a','b'] | join(', ') }}|{{ users | join(', ', attribute='n') }}",
        users=[{"n": "x"}, {"n": "y"}])
    add("filter/numbers", "{{ '42' | int }}|{{ '4.7' | int }}|{{ 'x' | int }}|{{ 'x' | int(7) }}|{{ 3.9 | int }}|{{ '1.5' | float }}|"
        "{{ 2 | float }}|{{ 'x' | float }}|{{ -3 | abs }}|{{ 2.567 | round(2) }}|{{ 2.5 | round }}|{{ 2.1 | round(0, 'ceil') }}|"
        "{{ 2.9 | round(method='floor') }}|{{ 7 | round }}")
    add("filter/map_select", "{{ [1,2] | map('string') | join(',') }}|{{ items | map(attribute='a') | list }}|"
        "{{ items | map(attribute='z', default='D') | list }}|{{ items | selectattr('a', 'defined') | list }}|"
        "{{ items | rejectattr('a', 'equalto', 1) | list }}|{{ [0,1,2,3] | select('odd') | list }}|"
        "{{ [0,1,'',3] | select | list }}|{{ [1,2,3] | reject('even') | list }}|{{ items | selectattr('a') | list }}|"
        "{{ [1,2,3,4] | select('divisibleby', 2) | list }}|{{ items[::2] | selectattr('a', '>', 1) | list }}",
        items=[{"a": 1}, {"b": 2}, {"a": 2}])
    add("filter/dict", "{{ d | items | list }}|{{ d | dictsort }}|{{ d | dictsort(by='value', reverse=true) }}|"
        "{{ missing | items | list }}", d={"b": 2, "a": 3, "C": 1})
    add("filter/unique_sort", "{{ ['a','A','b','a'] | unique | list }}|{{ [3,1,2] | sort }}|{{ [3,1,2] | sort(reverse=true) }}|"
        "{{ ['b','A','c'] | sort }}|{{ items | sort(attribute='a') | map(attribute='a') | join }}|{{ [1,2] | reverse | list }}|"
        "{{ [1,2,3] | sum }}|{{ [3,1] | min }}|{{ [3,1] | max }}", items=[{"a": 2}, {"a": 1}])
    add("filter/indent", "{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}|{{ 'a\n\nb' | indent('>', blank=true) }}")
    add("filter/format", "{{ '%s-%s' | format('a', 1) }}|{{ '%(x)s!' | format(x='y') }}|{{ '%5.2f|%-4d|%03d' | format(3.14159, 7, 5) }}|"
        "{{ 'x' % () }}|{{ '%s' % [1] }}|{{ '%r %%' % 'q' }}")
    add("error/format_missing_arg", "{{ '%s %s' | format('a') }}")
    add("filter/block", "{% filter upper %}abc {{ 'd' }}{% endfilter %}")
    add("filter/generators", "{% if [] | select %}T{% else %}F{% endif %}|{% set g = [1, 2] | select %}{{ g | list }}{{ g | list }}|"
        "{{ none | select | list }}{{ 0 | map('string') | list }}|{{ [3, 1] | reverse | join }}|{{ {'a': 1, 'b': 2} | reverse | list }}|"
        "{{ [1, 2] | map('string') | first }}|{% if missing | items %}T{% endif %}")
    add("error/generator_length", "{{ [1] | select | length }}")
    add("error/generator_last", "{{ [1, 2] | map('string') | last }}")
    add("error/items_not_mapping_consumed", "{{ 5 | items | list }}")
    # tests
    add("test/types", "{{ x is string }}|{{ none is none }}|{{ {} is mapping }}|{{ 'a' is iterable }}|{{ 'a' is sequence }}|"
        "{{ true is number }}|{{ 1 is true }}|{{ true is true }}|{{ false is false }}|{{ 1 is integer }}|{{ 1.0 is float }}|"
        "{{ true is boolean }}|{{ 1 is iterable }}|{{ [] is sequence }}|{{ missing is defined }}|{{ missing is undefined }}|"
        "{{ 3 is odd }}|{{ 4 is even }}|{{ 9 is divisibleby 3 }}|{{ 9 is divisibleby(2) }}|{{ 'x' is not string }}|"
        "{{ 1 is eq 1 }}|{{ 2 is gt 1 }}|{{ 'a' is in 'abc' }}|{{ none is sameas none }}|{{ 'ab' is lower }}|{{ range is callable }}", x=1)
    # globals
    add("global/range", "{{ range(3) | list }}|{{ range(1, 7, 2) | list }}|{{ range(5, 0, -2) | list }}|{{ range(0) | list }}")
    add("global/dict", "{{ dict(a=1, b='x') }}|{{ dict(a=1) | tojson }}")
    add("global/strftime", "{{ strftime_now('%Y-%m-%d %H:%M:%S %A %a %B %b %j %p %I %y') }}|{{ strftime_now('%d %b %Y') }}|"
        "{{ strftime_now('%-d %%') }}")
    add("global/with", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]")
    add("global/generation", "{% generation %}gen{{ 1 }}{% endgeneration %}")
    # printing of special values
    add("print/values", "{{ none }}|{{ true }}|{{ false }}|{{ missing }}|{{ 1.0 }}|{{ -0.0 }}|{{ 1e16 }}|{{ 1e15 }}|{{ 1e-4 }}|"
        "{{ 1e-5 }}|{{ 12345.678 }}|{{ (1,) }}|{{ {'a': none, 'b': [true]} }}|{{ d }}|{{ 'x\\x00y' }}",
        d={"k": "v", "n": {"x": [1.5, None]}})
    # errors
    add("error/undefined_attr", "{{ missing.attr }}")
    add("error/undefined_nested", "{{ d.a.b }}", d={})
    add("error/undefined_call", "{{ nope() }}")
    add("error/unknown_filter", "{{ 'a' | nope }}")
    add("error/unknown_filter_in_untaken_if", "{% if false %}{{ x | nope }}{% endif %}ok")
    add("error/unknown_filter_in_loop", "{% for x in [] %}{{ x | nope }}{% endfor %}ok")
    add("error/unknown_filter_loop_in_if", "{% if true %}\n{% for x in [] %}{{ x | nope }}{% endfor %}{% endif %}ok")
    add("error/unknown_filter_in_condexpr", "{{ 1 if false else (x | nope) }}ok")
    add("error/unknown_test_in_taken_if", "{% if 1 is nope %}{% endif %}")
    add("test/filter_and_test", "{{ 'upper' is filter }}{{ 'nope' is filter }}{{ 'odd' is test }}")
    add("error/unknown_test", "{{ 'a' is nope }}")
    add("error/syntax_empty_if", "line1\n{% if %}")
    add("error/syntax_unclosed", "{% for x in y %}\nbody\n")
    add("error/syntax_unknown_tag", "ok\n  {% frobnicate %}")
    add("error/syntax_bad_expr", "{{ 1 + }}")
    add("error/syntax_unclosed_var", "{{ x ")
    add("error/raise_exception", "{{ raise_exception('Conversation roles must alternate') }}")
    add("error/type_add", "{{ 'a' + 1 }}")
    add("error/type_compare", "{{ 'a' < 1 }}")
    add("error/div_zero", "{{ 1 / 0 }}")
    add("error/tojson_undefined", "{{ missing | tojson }}")
    add("error/not_iterable", "{% for x in 5 %}{% endfor %}")
    add("error/undefined_arith", "{{ missing + 1 }}")
    add("error/namespace_assign", "{% set d = {} %}{% set d.x = 1 %}")
    add("error/list_append", "{% set l = [] %}{{ l.append(1) }}")
    add("error/namespace_private", "{% set ns = namespace() %}{% set ns._x = 1 %}")
    add("error/unclosed_comment", "a {# b")
    add("error/endfor_without_for", "{% endfor %}")
    return c


TEMPLATES = {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lfm2-dir", default="/work/shared/fixtures/lfm2")
    args = ap.parse_args()

    os.makedirs(os.path.join(OUT, "lfm2"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "templates"), exist_ok=True)
    shutil.copyfile(os.path.join(args.lfm2_dir, "chat_template.jinja"), os.path.join(OUT, "lfm2", "chat_template.jinja"))
    shutil.copyfile(os.path.join(args.lfm2_dir, "README.md"), os.path.join(OUT, "lfm2", "README.md"))
    TEMPLATES["lfm2/chat_template.jinja"] = open(os.path.join(OUT, "lfm2", "chat_template.jinja"), encoding="utf-8").read()
    for name in sorted(os.listdir(os.path.join(HERE, "templates"))):
        shutil.copyfile(os.path.join(HERE, "templates", name), os.path.join(OUT, "templates", name))
        TEMPLATES["templates/" + name] = open(os.path.join(HERE, "templates", name), encoding="utf-8").read()

    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(args.lfm2_dir, "tokenizer.json"),
                                  bos_token="<|startoftext|>", eos_token="<|im_end|>")
    cases = []
    for name, msgs, tools, gen in lfm2_cases():
        cases.append(render_case(tok, "lfm2/chat_template.jinja", name, msgs, tools, gen, {}))
    for name, msgs, tools, gen in chatml_cases():
        cases.append(render_case(tok, "templates/chatml_tools.jinja", name, msgs, tools, gen, {}))
    for name, msgs, tools, gen, extra in llama3_cases():
        cases.append(render_case(tok, "templates/llama3_tools.jinja", name, msgs, tools, gen, extra))
    prefill = {"role": "assistant", "content": "The capital is"}
    continue_cases = [
        ("lfm2/continue_final_message", "lfm2/chat_template.jinja", [U1, prefill], False),
        ("lfm2/continue_final_parts", "lfm2/chat_template.jinja",
         [U1, {"role": "assistant", "content": [{"type": "text", "text": "Part one"}, {"type": "image"}]}], False),
        ("lfm2/continue_with_generation_prompt_rejected", "lfm2/chat_template.jinja", [U1, prefill], True),
        ("chatml/continue_trailing_space", "templates/chatml_tools.jinja",
         [U1, {"role": "assistant", "content": "Answer: "}], False),
        ("llama3/continue_trimmed", "templates/llama3_tools.jinja", [U1, {"role": "assistant", "content": "Sure, "}], False),
    ]
    for name, template, msgs, gen in continue_cases:
        extra = {"continue_final_message": True}
        if template.startswith("templates/llama3"):
            extra["date_string"] = "26 Jul 2024"
        cases.append(render_case(tok, template, name, msgs, None, gen, extra))
    for name, msgs, tools, gen, extra in thinking_cases():
        cases.append(render_case(tok, "templates/thinking_style.jinja", name, msgs, tools, gen, extra))
    for name, msgs, tools, gen in macro_cases():
        cases.append(render_case(tok, "templates/macro_style.jinja", name, msgs, tools, gen, {}))
    with open(os.path.join(OUT, "chat_cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")

    env_template = chat_template_utils._compile_jinja_template
    jcases = []
    for name, template, context in jinja_cases():
        case = {"name": name, "template": template, "context": context}
        try:
            case["expected"] = env_template(template).render(**context)
        except Exception as e:
            case["error"] = {"type": type(e).__name__, "message": str(e),
                             "line": getattr(e, "lineno", None)}
        jcases.append(case)
    with open(os.path.join(OUT, "jinja_cases.json"), "w", encoding="utf-8") as f:
        json.dump(jcases, f, ensure_ascii=False, indent=1)
        f.write("\n")
    sys.path.insert(0, HERE)
    import random_cases
    rcases = []
    skipped = 0
    for source in random_cases.cases(n=460):
        case = {"template": source}
        try:
            case["expected"] = env_template(source).render(**copy.deepcopy(random_cases.CONTEXT))
        except Exception as e:
            case["error"] = {"type": type(e).__name__, "message": str(e)}
        # Lazy filters (select, map, ...) and methods print as "<generator object ... at 0x...>" and Python's range
        # prints as "range(0, 3)", dict views as "dict_items([...])"; those reprs are not reproduced (the Swift engine makes lists), so such cases are left out.
        text = case.get("expected", "") + case.get("error", {}).get("message", "")
        if " at 0x" in text or "range(" in text.lower() or "generator" in text or "dict_" in text:
            skipped += 1
            continue
        rcases.append(case)
    for source in random_cases.layout_cases():
        case = {"template": source}
        try:
            case["expected"] = env_template(source).render(**copy.deepcopy(random_cases.CONTEXT))
        except Exception as e:
            case["error"] = {"type": type(e).__name__, "message": str(e)}
        rcases.append(case)
    with open(os.path.join(OUT, "random_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"context": random_cases.CONTEXT, "cases": rcases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    n_err = sum("error" in c for c in cases)
    print(f"random cases: {len(rcases)} ({skipped} left out for printing generators/ranges)")
    print(f"chat cases: {len(cases)} ({n_err} expected errors); jinja cases: {len(jcases)} "
          f"({sum('error' in c for c in jcases)} expected errors); now={FROZEN_NOW}")


if __name__ == "__main__":
    main()
