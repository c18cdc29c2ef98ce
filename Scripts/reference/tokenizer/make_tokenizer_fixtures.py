#!/usr/bin/env python3
"""Builds the LFMTokenizer test fixtures from the reference Hugging Face `tokenizers`.

Requirements (exact pins): tokenizers==0.23.3 (Python 3.11; the corpus was built with CPython 3.11.7).
    python3 -m venv venv && venv/bin/pip install tokenizers==0.23.3
    venv/bin/python Scripts/reference/tokenizer/make_tokenizer_fixtures.py \
        --lfm2-tokenizer /work/shared/fixtures/lfm2/tokenizer.json

Writes into Tests/LFMTokenizerTests/Fixtures/:
  lfm2/tokenizer.json        copy of the real LFM2 tokenizer (LFM Open License v1.0, see lfm2/README.md)
  lfm2/cases.jsonl           one {"name", "source", "text"} object per line (the corpus, >= 1 MB of UTF-8)
  lfm2/ids.bin               for every case in order, as LEB128 varints: the ids without special tokens
                             (count, ids), then the ids with special tokens written as the prefix and
                             suffix around the former (count, ids, count, ids); the script checks that
                             the reference output has that shape
  lfm2/decode.jsonl          a few id lists with the reference decode (skip_special_tokens true/false)
  synthetic/<name>/tokenizer.json + cases.jsonl   tiny tokenizers trained here, other pipeline styles
  unicode_classes.json       the code points the reference regex engine puts in \p{L}, \p{N} and \s, as ranges
  SOURCES.md                 where every corpus section comes from

Corpus sources (all available on any machine with CPython): the CPython standard library's own .py files
and LICENSE.txt (Python Software Foundation License, permissive), plus text generated here
(Unicode sweeps drawn with a fixed seed, hand-written multilingual phrases, edge cases).
"""
import argparse
import json
import os
import random
import shutil
import sys
import unicodedata

import tokenizers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers, AddedToken

assert tokenizers.__version__ == "0.23.3", f"needs tokenizers==0.23.3, found {tokenizers.__version__}"

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "LFMTokenizerTests", "Fixtures")
STDLIB = os.path.dirname(os.__file__)

STDLIB_FILES = [
    "textwrap.py", "difflib.py", "argparse.py", "json/decoder.py", "json/encoder.py", "email/message.py",
    "calendar.py", "statistics.py", "fractions.py", "heapq.py", "string.py", "csv.py", "pprint.py",
    "shlex.py", "tokenize.py", "ast.py", "dataclasses.py", "inspect.py", "typing.py", "enum.py",
    "functools.py", "collections/__init__.py", "pathlib.py", "datetime.py", "decimal.py", "_pydecimal.py",
    "locale.py", "codecs.py", "gettext.py", "html/parser.py", "html/entities.py", "unittest/case.py",
    "logging/__init__.py", "zipfile.py", "tarfile.py", "random.py", "uuid.py", "ipaddress.py",
]

PHRASES = {
    "cyrillic": "Привет, мир! Это пример текста на русском языке. Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "greek": "Γειά σου Κόσμε! Αυτό είναι ένα παράδειγμα κειμένου στα ελληνικά. Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    "arabic": "مرحبا بالعالم! هذا مثال على نص باللغة العربية، مع أرقام ١٢٣٤٥ و 67890.",
    "hebrew": "שלום עולם! זהו טקסט לדוגמה בעברית, עם ניקוד: שָׁלוֹם.",
    "devanagari": "नमस्ते दुनिया! यह हिंदी में एक उदाहरण पाठ है। संख्याएँ: १२३४५।",
    "thai": "สวัสดีชาวโลก! นี่คือตัวอย่างข้อความภาษาไทย ๑๒๓",
    "chinese": "你好，世界！这是一个中文示例文本。我们测试分词器的表现：数字123和标点。",
    "japanese": "こんにちは世界！これは日本語のサンプルテキストです。カタカナとひらがな、漢字。",
    "korean": "안녕하세요 세계! 이것은 한국어 예시 문장입니다. 숫자 123.",
    "mixed": "English, Русский, Ελληνικά, العربية, עברית, हिन्दी, ไทย, 中文, 日本語, 한국어 — all in one line.",
}

EDGE_CASES = [
    "", " ", "  ", "\t", "\n", "\r\n", "\n\n\n", " \n ", "a", "A", "1", "'", "''", "'s",
    "I'm you're we've they'll he'd she's it't", "I'M YOU'RE WE'VE THEY'LL HE'D SHE'S", "i'M yOu'Re We'Ve ThEy'Ll",
    "x'ſ y'ſt 'K 'K", "don't won't can't shouldn't y'all ma'am o'clock rock'n'roll",
    "'s's's 'S'S 'll'll", "' s", "'\ns", "12 123 1234 12345 123456 1234567890123456789",
    "3.14159 -2.5e10 0x1F 1,000,000 10^9 ½ ¾ ² ³ Ⅻ ⅷ ① ⑳ ١٢٣ ४५६ ๗๘๙",
    "tabs\tbetween\t\twords\t\t\t", "trailing spaces   ", "   leading spaces", "a  b   c    d",
    "line1\r\nline2\r\n\r\nline3\rline4", "\r\r\r\n\n\r", "  \n  \n  ", " \t \n \t ",
    "\u00a0nbsp\u00a0\u00a0x", "ideographic\u3000space\u3000\u3000", "zero\u200bwidth\u200cjoiner\u200dx",
    "line\u2028sep\u2029para", "\u0085nel\u0085", "\ufeffbom", "\x00\x01\x02\x1b[31mred\x1b[0m\x7f",
    "\x1c\x1d\x1e\x1f unit separators", "\u000b\u000c vt ff", "\u1680ogham\u180emongolian\u2000\u200a\u202f\u205f",
    "e\u0301 n\u0303 a\u0308\u0304 Z\u0351\u0364\u0368\u0334\u0327a\u035blg\u0315o", "cafe\u0301 vs café",
    "👍 👍🏻 👍🏽 👍🏿 👩‍💻 👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷🇯🇵🇺🇸 1️⃣ #️⃣ ❤️ ☺︎ 🧑🏾‍🚀", "😀😃😄😁😆😅🤣😂🙂🙃",
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\nHi there.<|im_end|>",
    "<|im_start|><|im_end|><|im_start|>", "text<|endoftext|>more", " <|im_start|> spaced <|im_end|> ",
    "<|im_sta", "<|im_start|", "<|im_start|>>", "<<|im_start|>>", "<|startoftext|><|pad|><|fim_pre|>x<|fim_suf|>",
    "<|tool_call_start|>[get_weather(city=\"Paris\")]<|tool_call_end|>", "<|reserved_6|><|reserved_218|>",
    "python cpython Python PYTHON pythonic python3 Mathias mathias MathiasMathias",
    "a" * 300, " " * 200 + "x", "=" * 150, "-" * 80 + "\n" + "#" * 80, "\n" * 60, "\t" * 40,
    "中" * 100, "😀" * 40, "9" * 100, "ab" * 150, "Ġ Ċ ĉ ÃĤ", "\\p{L} \\s+(?!\\S) regex text",
    "https://example.com/path?query=1&b=2#frag user@example.org", "C:\\Windows\\System32\\drivers",
    "def f(x):\n    return x ** 2  # square\n\n\nclass A:\n\tpass\n",
    "{\"json\": [1, 2.5, null, true], \"k\": \"v\"}", "<html><body><p class=\"x\">Hi</p></body></html>",
    "SELECT * FROM t WHERE a >= 10 AND b <> 'x';", "x=1;y=2;z=x+y*3/4-5%6", "!!!??? ... ,,, ;;; ::: ---",
    "«quotes» „German“ “curly” ‘single’ 「括弧」 『二重』", "Ωmega µicro ﬁ ﬂ ﬀ ß ẞ İ ı ǅ ǈ",
    "𝐀𝐁𝐂 𝒶𝒷𝒸 𝔸𝔹ℂ 𝟘𝟙𝟚", "𠀀𠀁𠀂 𪚥 𫝀", "\U0001F600\U0001F9D1\u200d\U0001F52C",
]


def chunk_lines(text, rng, low=1500, high=9000):
    """Splits text into chunks of random size along line boundaries."""
    lines = text.splitlines(keepends=True)
    chunks, current, size, target = [], [], 0, rng.randint(low, high)
    for line in lines:
        current.append(line)
        size += len(line)
        if size >= target:
            chunks.append("".join(current))
            current, size, target = [], 0, rng.randint(low, high)
    if current:
        chunks.append("".join(current))
    return chunks


def unicode_sweep(rng):
    """Every BMP code point (except surrogates), plus samples of the other planes, between separators
    that make each character's class (letter, number, space, other) decide the split."""
    cases = []
    separators = [" ", "a", "1", "'", "\n", "."]
    for block in range(0, 0x10000, 0x400):
        chars = [chr(c) for c in range(block, block + 0x400) if not 0xD800 <= c <= 0xDFFF]
        if not chars:
            continue
        parts = []
        for k, ch in enumerate(chars):
            parts.append(ch)
            parts.append(separators[(k + block // 0x400) % len(separators)] if k % 3 == 2 else "")
        cases.append((f"sweep-bmp-{block:04X}", "generated: Unicode code points", "".join(parts)))
    supplementary = list(range(0x10000, 0x10400)) + list(range(0x1D400, 0x1D800)) + list(range(0x1F300, 0x1FB00)) \
        + list(range(0x20000, 0x20200)) + list(range(0xE0000, 0xE0080))
    for start in range(0, len(supplementary), 0x400):
        chars = [chr(c) for c in supplementary[start:start + 0x400]]
        text = "".join(ch + (separators[k % len(separators)] if k % 2 else "") for k, ch in enumerate(chars))
        cases.append((f"sweep-supp-{supplementary[start]:05X}", "generated: Unicode code points", text))
    return cases


def random_script_text(rng, n_cases):
    """Random 'words' from many scripts, with digits, punctuation, spaces, newlines and combining marks."""
    ranges = {
        "latin": (0x41, 0x24F), "greek": (0x370, 0x3FF), "cyrillic": (0x400, 0x4FF), "hebrew": (0x5D0, 0x5EA),
        "arabic": (0x620, 0x64A), "devanagari": (0x900, 0x97F), "thai": (0xE01, 0xE5B), "hangul": (0xAC00, 0xAD00),
        "cjk": (0x4E00, 0x4F00), "kana": (0x3041, 0x30FF), "georgian": (0x10D0, 0x10FA), "ethiopic": (0x1200, 0x1300),
    }
    names = list(ranges)
    marks = ["\u0301", "\u0308", "\u0327", "\u093c", "\u0e31", "\u05b7", "\u064e", "\u200d", "\ufe0f"]
    seps = [" ", "  ", "\t", "\n", "\r\n", ", ", ". ", "! ", "? ", " - ", "'s ", "'LL ", " 42 ", "2024", "\u3000", " \n\n"]
    cases = []
    for i in range(n_cases):
        words = []
        for _ in range(rng.randint(20, 120)):
            lo, hi = ranges[rng.choice(names)]
            word = ""
            for _ in range(rng.randint(1, 9)):
                c = rng.randint(lo, hi)
                if unicodedata.category(chr(c))[0] in "LMN":
                    word += chr(c)
                if rng.random() < 0.08:
                    word += rng.choice(marks)
            words.append(word + rng.choice(seps))
        cases.append((f"random-scripts-{i:03d}", "generated: random script text (seed 1234)", "".join(words)))
    return cases


def corpus():
    rng = random.Random(1234)
    cases = [(f"edge-{i:03d}", "hand-written edge case", t) for i, t in enumerate(EDGE_CASES)]
    cases += [(f"phrase-{k}", "hand-written phrase", v) for k, v in PHRASES.items()]
    with open(os.path.join(STDLIB, "LICENSE.txt"), encoding="utf-8") as f:
        license_text = f.read()
    cases += [(f"python-license-{i:02d}", "CPython LICENSE.txt (PSF License)", c)
              for i, c in enumerate(chunk_lines(license_text, rng))]
    for name in STDLIB_FILES:
        with open(os.path.join(STDLIB, name), encoding="utf-8") as f:
            text = f.read()
        source = f"CPython {sys.version.split()[0]} Lib/{name} (PSF License)"
        # A window of the file (about 15 KB, from a seeded offset) in chunks.
        start = rng.randrange(max(1, len(text) - 15000))
        start = text.rfind("\n", 0, start) + 1
        window = text[start:start + 15000]
        cases += [(f"stdlib-{name}-{i:03d}", source, c) for i, c in enumerate(chunk_lines(window, rng))]
        # CRLF and tab-indented variants of the beginning of the file.
        part = text[:1500]
        cases.append((f"stdlib-{name}-crlf", source + ", LF -> CRLF", part.replace("\n", "\r\n")))
        cases.append((f"stdlib-{name}-tabs", source + ", 4 spaces -> tab", part.replace("    ", "\t")))
    cases += unicode_sweep(rng)
    cases += random_script_text(rng, 120)
    # Special tokens spliced into prose.
    specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|startoftext|>", "<|tool_call_start|>", "python"]
    for i in range(40):
        base = cases[rng.randrange(len(cases))][2][:800]
        pos = sorted(rng.randrange(len(base) + 1) for _ in range(4))
        pieces, last = [], 0
        for p in pos:
            pieces += [base[last:p], rng.choice(specials)]
            last = p
        pieces.append(base[last:])
        cases.append((f"spliced-specials-{i:02d}", "corpus text with special tokens inserted", "".join(pieces)))
    return cases


def leb128(values):
    out = bytearray()
    for v in values:
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out.append(b | 0x80)
            else:
                out.append(b)
                break
    return out


def write_lfm2(src, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    shutil.copyfile(src, os.path.join(out_dir, "tokenizer.json"))
    readme = os.path.join(os.path.dirname(src), "README.md")
    if os.path.exists(readme):
        shutil.copyfile(readme, os.path.join(out_dir, "README.md"))
    tok = Tokenizer.from_file(src)
    cases = corpus()
    total = 0
    blob = bytearray()
    with open(os.path.join(out_dir, "cases.jsonl"), "w", encoding="utf-8") as f:
        for name, source, text in cases:
            # U+FEFF is escaped: Foundation's JSON parser drops a byte-order mark at the start of a string.
            line = json.dumps({"name": name, "source": source, "text": text}, ensure_ascii=False)
            f.write(line.replace("\ufeff", "\\ufeff") + "\n")
            total += len(text.encode("utf-8"))
            plain = tok.encode(text, add_special_tokens=False).ids
            special = tok.encode(text, add_special_tokens=True).ids
            prefix_len = next((k for k in range(len(special) - len(plain) + 1)
                               if special[k:k + len(plain)] == plain), None)
            assert prefix_len is not None, f"{name}: ids with special tokens do not contain the plain ids"
            prefix, suffix = special[:prefix_len], special[prefix_len + len(plain):]
            blob += leb128([len(plain)] + plain) + leb128([len(prefix)] + prefix + [len(suffix)] + suffix)
    with open(os.path.join(out_dir, "ids.bin"), "wb") as f:
        f.write(blob)
    decode_cases = [
        [1, 6, 6423, 708, 6928, 7], [6, 7, 2, 0], [228, 860, 639, 633], [64014, 64011, 730],
        tok.encode("Hello 👩‍💻 world", add_special_tokens=True).ids,
    ]
    with open(os.path.join(out_dir, "decode.jsonl"), "w", encoding="utf-8") as f:
        for ids in decode_cases:
            f.write(json.dumps({
                "ids": ids, "text": tok.decode(ids, skip_special_tokens=False),
                "text_skip_special": tok.decode(ids, skip_special_tokens=True)}, ensure_ascii=False) + "\n")
    print(f"lfm2: {len(cases)} cases, {total} bytes of text, ids.bin {len(blob)} bytes")
    return cases


def train_text():
    with open(os.path.join(STDLIB, "LICENSE.txt"), encoding="utf-8") as f:
        text = f.read()
    return [text, PHRASES["mixed"], PHRASES["cyrillic"], "I'm you're we'll 123 4567 don't"]


def synthetic(out_root, cases):
    """Tiny tokenizers of other styles, trained here, with reference ids for a sample of the corpus."""
    samples = [c[2] for c in cases if c[0].startswith(("edge-", "phrase-"))] + \
        [cases[i][2][:500] for i in range(0, len(cases), 23)]

    # GPT-2 style: ByteLevel pre-tokenizer with its own regex and a prefix space, Roberta post-processing,
    # added tokens with lstrip / rstrip / single_word.
    gpt2 = Tokenizer(models.BPE())
    gpt2.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    gpt2.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    gpt2.train_from_iterator(train_text(), trainer)
    gpt2.post_processor = processors.RobertaProcessing(("</s>", gpt2.token_to_id("</s>")), ("<s>", gpt2.token_to_id("<s>")))
    gpt2.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, special=True, normalized=False)])
    gpt2.add_tokens([AddedToken("licensee", single_word=True, normalized=True),
                     AddedToken("[SEP]", rstrip=True, normalized=False)])
    extra = ["a <mask> b", "x<mask>y", "the licensee and sublicensees", "licensee.", "[SEP]   next", "[SEP]\n\nz"]

    # Qwen2 style: NFC normalizer, Split with the single-digit regex, ByteLevel without regex, ignore_merges.
    qwen = Tokenizer(models.BPE(ignore_merges=True))
    qwen.normalizer = normalizers.NFC()
    qwen.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(tokenizers.Regex(
            r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
            behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    qwen.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    qwen.train_from_iterator(train_text(), trainer)
    qwen.post_processor = processors.ByteLevel(trim_offsets=False)
    extra_q = ["cafe\u0301 café", "<|im_start|>user\nx<|im_end|>", "Ａｂｃ ｶﾀｶﾅ"]

    # Llama-3 regex followed by ByteLevel with add_prefix_space (a space is prefixed to every piece), an
    # NFKC + Lowercase normalizer with a normalized added token, and BOS/EOS template processing.
    prefixed = Tokenizer.from_str(qwen.to_str())
    prefixed.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    prefixed.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(tokenizers.Regex(
            r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
            behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False)])
    prefixed.add_tokens([AddedToken("hello", normalized=True)])
    prefixed.post_processor = processors.TemplateProcessing(
        single="<|im_start|> $A <|im_end|>", pair="<|im_start|> $A <|im_end|> $B:1 <|im_end|>:1",
        special_tokens=[("<|im_start|>", prefixed.token_to_id("<|im_start|>")),
                        ("<|im_end|>", prefixed.token_to_id("<|im_end|>"))])
    extra_p = ["HELLO World", "say Hello!", "ΟΔΟΣ ΣΑΣ", "ﬁne ①② Ｆｕｌｌ", "<|im_start|>HeLLo<|im_end|>"]

    # Character-level BPE (no ByteLevel): byte fallback to <0xXX> tokens, or an unknown token (fused),
    # with the ByteFallback + Fuse decoder chain of sentencepiece-converted tokenizers.
    base = Tokenizer(models.BPE(unk_token="<unk>"))
    base.pre_tokenizer = pre_tokenizers.Split(tokenizers.Regex(
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
        behavior="isolated")
    base.train_from_iterator(train_text(), trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>"], show_progress=False))
    base_model = json.loads(base.to_str())["model"]
    vocab = dict(base_model["vocab"])
    for b in range(256):
        vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in base_model["merges"]]
    fallback = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True))
    fallback.pre_tokenizer = base.pre_tokenizer
    fallback.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    unk = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True))
    unk.pre_tokenizer = base.pre_tokenizer
    unk.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    extra_b = ["Zürich 東京 ☃ x", "日本語テキスト", "mixed 中a文b", "\u00e9\u0301"]

    for name, tok, more in [("gpt2-tiny", gpt2, extra), ("qwen2-tiny", qwen, extra_q),
                            ("llama3-prefix-lowercase", prefixed, extra_p),
                            ("charbpe-bytefallback", fallback, extra_b), ("charbpe-unk", unk, extra_b)]:
        d = os.path.join(out_root, name)
        os.makedirs(d, exist_ok=True)
        tok.save(os.path.join(d, "tokenizer.json"))
        with open(os.path.join(d, "cases.jsonl"), "w", encoding="utf-8") as f:
            for text in more + samples:
                ids = tok.encode(text, add_special_tokens=False).ids
                f.write(json.dumps({
                    "text": text,
                    "ids": ids,
                    "ids_special": tok.encode(text, add_special_tokens=True).ids,
                    "decoded": tok.decode(ids, skip_special_tokens=False),
                }, ensure_ascii=False).replace("\ufeff", "\\ufeff") + "\n")
        print(f"{name}: {len(more) + len(samples)} cases")


def class_ranges(pattern):
    """Inclusive code point ranges matched by a one-character class regex in the reference engine."""
    splitter = pre_tokenizers.Split(tokenizers.Regex(pattern), behavior="removed")
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    outside = set()
    for piece, _ in splitter.pre_tokenize_str(everything):
        outside.update(ord(ch) for ch in piece)
    ranges = []
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF or c in outside:
            continue
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return ranges


def write_unicode_classes(path):
    data = {"generated_by": f"tokenizers {tokenizers.__version__} Split pre-tokenizer (Oniguruma)",
            "letter": class_ranges(r"\p{L}"), "number": class_ranges(r"\p{N}"), "space": class_ranges(r"\s")}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
    print("unicode classes:", {k: len(v) for k, v in data.items() if k != "generated_by"})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lfm2-tokenizer", default="/work/shared/fixtures/lfm2/tokenizer.json")
    args = parser.parse_args()
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    cases = write_lfm2(args.lfm2_tokenizer, os.path.join(FIXTURES, "lfm2"))
    synthetic(os.path.join(FIXTURES, "synthetic"), cases)
    write_unicode_classes(os.path.join(FIXTURES, "unicode_classes.json"))
    sources = {}
    for name, source, text in cases:
        sources.setdefault(source, [0, 0])
        sources[source][0] += 1
        sources[source][1] += len(text.encode("utf-8"))
    with open(os.path.join(FIXTURES, "SOURCES.md"), "w", encoding="utf-8") as f:
        f.write("# Tokenizer fixture corpus sources\n\nGenerated by Scripts/reference/tokenizer/make_tokenizer_fixtures.py "
                f"with tokenizers {tokenizers.__version__}, CPython {sys.version.split()[0]}.\n\n"
                "| source | cases | UTF-8 bytes |\n|---|---|---|\n")
        for source, (n, size) in sorted(sources.items()):
            f.write(f"| {source} | {n} | {size} |\n")
        f.write("\nCPython files are under the Python Software Foundation License (see lfm2/cases.jsonl "
                "python-license-* cases for its text). The LFM2 tokenizer is Liquid AI's work under the LFM Open "
                "License v1.0 (lfm2/README.md). The synthetic tokenizers are trained by the script on CPython's "
                "LICENSE.txt and the hand-written phrases.\n")


if __name__ == "__main__":
    main()
