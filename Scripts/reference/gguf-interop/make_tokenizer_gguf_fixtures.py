"""Vocab-only GGUF tokenizers made by llama.cpp's converter, and the ids libllama's own tokenizer gives.

Pinned tools (Python 3.11): transformers 5.24.0, tokenizers 0.23.3, gguf 0.19.0; llama.cpp from the
llama-cpp-python 0.3.36 sdist (vendor/llama.cpp: convert_hf_to_gguf.py --vocab-only with the vendored gguf-py,
libllama built from the same tree with plain CMake, Release); gcc for llama_tokenize.c.

    /root/venv-ref/bin/python Scripts/reference/gguf-interop/make_tokenizer_gguf_fixtures.py \
        --llama-cpp /root/llamacpp-src/llama_cpp_python-0.3.36/vendor/llama.cpp --llama-bin /root/llamacpp-build/bin

For each synthetic tokenizer.json of Tests/LFMTokenizerTests/Fixtures/synthetic/ that mimics a family
(qwen2-tiny -> pre "qwen2" as Qwen3, llama3-prefix-lowercase -> pre "llama-bpe" as Llama, gpt2-tiny -> "gpt-2"
as GPT-2), a model folder
(config.json of the family with vocab_size = highest id + 4, so the converter writes three unused [PAD] ids,
the tokenizer.json plus two vocabulary entries no merge reaches ("qzxv", " qzxv": whether a whole-token word
skips the merges, llama.cpp's ignore_merges, shows), tokenizer_config.json with a chat template and BOS/EOS) is converted with
convert_with_llamacpp.py --tiny-tokenizer=PRE (the tiny vocabularies' hash is not in llama.cpp's table) and
--vocab-only. Writes Tests/LFMModelsTests/Fixtures/gguf/tokenizers/:
- `<name>.gguf`: llama.cpp's vocab-only file.
- `corpus.jsonl`: {"name", "text"} per case: the lfm2 tokenizer corpus cases of at most 300 UTF-8 bytes, the
  cases of the three synthetic folders (deduplicated), and hard cases for the pre-tokenizer regexes.
- `<name>.jsonl`: a first line {"add_bos", "add_eos", "bos", "eos"} (llama.cpp's vocabulary flags), then per
  corpus case {"name", "ids"} = llama_tokenize(add_special=false, parse_special=true), "prefix"/"suffix": what
  add_special=true adds around "ids", "unparsed": the ids with parse_special=false when they differ,
  "detokenized": llama_detokenize(ids, remove_special=false, unparse_special=true) when it is not the text, and "hf": the ids
  tokenizers gives on the folder's tokenizer.json (add_special_tokens=False) when they differ from llama.cpp's.
Also checks (prints, writes nothing) that libllama on Fixtures/gguf/lfm2-tokenizer.gguf (the real LFM2
tokenizer, pre "lfm2") gives tokenizers' ids on every case of the lfm2 corpus, with and without BOS, so the
tokenizer.json ids GGUFTokenizerTests compares with are llama.cpp's too.
Deterministic: the converter and libllama are deterministic and every list is in a fixed order.
"""
import argparse, json, subprocess, sys, tempfile
from pathlib import Path

from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FIXTURES = ROOT / "Tests/LFMTokenizerTests/Fixtures"
OUT = ROOT / "Tests/LFMModelsTests/Fixtures/gguf/tokenizers"

TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
            "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

# (name, synthetic folder, pre-tokenizer name, architecture, BOS, EOS, config)
TOKENIZERS = [
    ("qwen2-tiny", "qwen2-tiny", "qwen2", "Qwen3ForCausalLM", "<|im_start|>", "<|im_end|>",
     {"model_type": "qwen3", "head_dim": 16, "rope_theta": 1000000.0, "tie_word_embeddings": True}),
    ("llama-bpe-tiny", "llama3-prefix-lowercase", "llama-bpe", "LlamaForCausalLM", "<|im_start|>", "<|im_end|>",
     {"model_type": "llama", "head_dim": 16, "rope_theta": 10000.0, "tie_word_embeddings": False}),
    ("gpt2-tiny", "gpt2-tiny", "gpt-2", "GPT2LMHeadModel", "<s>", "</s>",
     {"model_type": "gpt2", "n_embd": 32, "n_layer": 1, "n_head": 2, "n_ctx": 64, "n_positions": 64,
      "layer_norm_epsilon": 1e-5}),
]

UNMERGED = ["qzxv", "\u0120qzxv"]  # "qzxv" and " qzxv" in the byte alphabet

HARD = [
    ("unmerged-words", "qzxv qzxv qzxvqzxv Qzxv qzxv's"),
    ("digits-run", "1234567890 12 123 1234 12345"),
    ("digits-mixed", "abc123def 3.14159 v2.0.1 0x1F 1,000,000"),
    ("digits-fullwidth", "１２３４５ and ٣٤٥٦"),
    ("contractions-lower", "it's they're we've I'm you'll he'd don't"),
    ("contractions-mixed", "IT'S They'Re WE'VE I'M You'LL HE'D DON'T"),
    ("contractions-alone", "'s 't 're 've 'm 'll 'd ''s"),
    ("cjk", "日本語のテキスト、中文文本。한국어 텍스트"),
    ("emoji", "hi 👋🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷 ❤️"),
    ("spaces-run", "a  b   c    d     e"),
    ("spaces-trailing", "end   "),
    ("spaces-leading", "   start"),
    ("leading-space-word", " hello world"),
    ("newlines", "line1\nline2\n\nline3\n\n\n"),
    ("crlf", "a\r\nb\r\n\r\nc"),
    ("tabs", "\tindented\n\t\tdouble\t tab"),
    ("spaces-before-newline", "x   \n   y"),
    ("punctuation-run", "wait...what?!?! (yes) [no] {maybe} --> <=>"),
    ("punct-newline", "end.\n\nnext:\r\n"),
    ("mixed-scripts", "Ελληνικά русский עברית العربية हिन्दी"),
    ("special-inline", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"),
    ("special-glued", "a<|im_end|>b <|endoftext|> c<|im_start|><|im_start|>"),
    ("special-spaced", " <|im_start|> x <|im_end|> "),
    ("special-partial", "<|im_start <|im_end|| <|endoftext"),
    ("user-defined", "hello Hello HELLO hellohello"),
    ("unused-text", "[PAD700] [PAD703]"),
    ("empty", ""),
    ("single-space", " "),
    ("only-newlines", "\n\n"),
    ("apostrophe-unicode", "it’s l’été"),
    ("combining", "e\u0301 n\u0303 Å Å"),
    ("zero-width", "a\u200bb\u200dc\ufeffd"),
    ("code", "def f(x):\n    return x**2  # square\n"),
    ("url", "https://example.com/path?q=1&r=2#frag"),
]


def corpus():
    seen, cases = set(), []

    def add(name, text):
        if text not in seen:
            seen.add(text)
            cases.append({"name": name, "text": text})

    for line in (FIXTURES / "lfm2/cases.jsonl").read_text(encoding="utf-8").split("\n"):
        if not line:
            continue
        item = json.loads(line)
        if len(item["text"].encode()) <= 300:
            add("lfm2/" + item["name"], item["text"])
    for folder in ["qwen2-tiny", "llama3-prefix-lowercase", "gpt2-tiny"]:
        lines = (FIXTURES / "synthetic" / folder / "cases.jsonl").read_text(encoding="utf-8").split("\n")
        for index, line in enumerate(filter(None, lines)):
            add(f"{folder}/{index}", json.loads(line)["text"])
    for name, text in HARD:
        add("hard/" + name, text)
    return cases


def model_folder(work, name, folder, arch, bos, eos, config):
    source = FIXTURES / "synthetic" / folder / "tokenizer.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    # Two tokens no merge reaches, so llama.cpp's ignore_merges (whole-token words) is observable. They take
    # the ids after the model vocabulary; added tokens past it move up (ids stay contiguous).
    size = len(data["model"]["vocab"])
    assert sorted(data["model"]["vocab"].values()) == list(range(size))
    for token in data["added_tokens"]:
        if token["id"] >= size:
            token["id"] += len(UNMERGED)
    for offset, word in enumerate(UNMERGED):
        assert word not in data["model"]["vocab"]
        data["model"]["vocab"][word] = size + offset
    top = max([*data["model"]["vocab"].values(), *(t["id"] for t in data["added_tokens"])])
    out = work / name
    out.mkdir()
    (out / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    specials = {t["content"]: t["id"] for t in data["added_tokens"] if t["special"]}
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": bos, "eos_token": eos,
        **({"pad_token": "<|endoftext|>"} if "<|endoftext|>" in specials else {}), "chat_template": TEMPLATE}),
        encoding="utf-8")
    cfg = {"architectures": [arch], "vocab_size": top + 4, "hidden_size": 32, "intermediate_size": 32,
           "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 64,
           "rms_norm_eps": 1e-6, "bos_token_id": specials[bos], "eos_token_id": specials[eos],
           "torch_dtype": "float32", **config}
    (out / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    return out


def build_tool(args, work):
    exe = work / "llama_tokenize"
    inc = [f"-I{args.llama_cpp}/include", f"-I{args.llama_cpp}/ggml/include"]
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / "llama_tokenize.c"), *inc, f"-L{args.llama_bin}",
                    "-lllama", "-lggml", "-lggml-base", f"-Wl,-rpath,{args.llama_bin}"], check=True)
    return exe


def llama_tokenize(exe, gguf, texts):
    payload = b"".join(b"%d\n" % len(t.encode()) + t.encode() for t in texts)
    out = subprocess.run([str(exe), str(gguf)], input=payload, capture_output=True, check=True).stdout.decode()
    lines = out.split("\n")
    head = dict(field.split("=") for field in lines[0].split())
    rows = []
    for line in lines[1:1 + len(texts)]:
        fields = line.split("|")
        ids, special, unparsed = ([int(x) for x in f.split(",") if x] for f in fields[:3])
        rows.append((ids, special, unparsed, bytes.fromhex(fields[3]).decode("utf-8", errors="strict")))
    assert len(rows) == len(texts)
    return {k: int(v) for k, v in head.items()}, rows


def check_lfm2(exe):
    texts = [json.loads(line)["text"] for line in
             (FIXTURES / "lfm2/cases.jsonl").read_text(encoding="utf-8").split("\n") if line]
    _, rows = llama_tokenize(exe, OUT.parent / "lfm2-tokenizer.gguf", texts)
    reference = Tokenizer.from_file(str(FIXTURES / "lfm2/tokenizer.json"))
    differ = sum(ids != reference.encode(text, add_special_tokens=False).ids
                 or special != reference.encode(text, add_special_tokens=True).ids
                 for text, (ids, special, _, _) in zip(texts, rows))
    print(f"lfm2-tokenizer.gguf: {len(texts)} cases, {differ} differ from tokenizers")
    assert differ == 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--llama-cpp", required=True)
    parser.add_argument("--llama-bin", required=True)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    cases = corpus()
    with open(OUT / "corpus.jsonl", "w", encoding="utf-8") as f:
        for case in cases:
            f.write(json.dumps(case) + "\n")
    texts = [c["text"] for c in cases]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        exe = build_tool(args, work)
        check_lfm2(exe)
        for name, folder, pre, arch, bos, eos, config in TOKENIZERS:
            model = model_folder(work, name, folder, arch, bos, eos, config)
            gguf = OUT / f"{name}.gguf"
            subprocess.run([sys.executable, str(HERE / "convert_with_llamacpp.py"), args.llama_cpp, str(model), str(gguf),
                            "f32", f"--tiny-tokenizer={pre}", "--vocab-only"], check=True, capture_output=True)
            flags, rows = llama_tokenize(exe, gguf, texts)
            hf = Tokenizer.from_file(str(model / "tokenizer.json"))
            differ = 0
            with open(OUT / f"{name}.jsonl", "w", encoding="utf-8") as f:
                f.write(json.dumps(flags) + "\n")
                for case, (ids, special, unparsed, detok) in zip(cases, rows):
                    if ids:
                        start = next(i for i in range(len(special) - len(ids) + 1) if special[i:i + len(ids)] == ids)
                    else:
                        start = len(special)
                    record = {"name": case["name"], "ids": ids, "prefix": special[:start],
                              "suffix": special[start + len(ids):]}
                    if detok != case["text"]:
                        record["detokenized"] = detok
                    if unparsed != ids:
                        record["unparsed"] = unparsed
                    theirs = hf.encode(case["text"], add_special_tokens=False).ids
                    if theirs != ids:
                        record["hf"] = theirs
                        differ += 1
                    f.write(json.dumps(record) + "\n")
            print(f"{name}: {len(cases)} cases, {differ} differ from tokenizers, flags {flags}")


if __name__ == "__main__":
    main()
