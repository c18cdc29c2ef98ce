#!/usr/bin/env python3
"""Corpus and BPE vocabulary of swift-lfm's bundled default model.

Corpus: the docstrings of CPython 3.11's standard library (the `.py` files shipped with every
Python install; PSF License Version 2, a permissive licence), collected with `ast` in a fixed
order; test packages, idlelib and vendored third-party code are skipped. Deterministic.
Vocabulary: a byte-level BPE of 4,096 entries trained on that corpus with the Hugging Face
`tokenizers` trainer (pinned 0.23.3), with the LFM2 special tokens at the same low ids
(0 <|pad|>, 1 <|startoftext|>, 2 <|endoftext|>, 6 <|im_start|>, 7 <|im_end|>, ...) and LFM2's
pre-tokenizer regex, so the LFM2 chat template works unchanged.

    python3 -m venv venv && venv/bin/pip install tokenizers==0.23.3
    venv/bin/python Scripts/default-model/make_corpus_and_tokenizer.py OUT_DIR
writes OUT_DIR/corpus.txt and OUT_DIR/tokenizer.json (+ tokenizer_config.json).
"""
import ast
import json
import pathlib
import sys
import sysconfig

import tokenizers
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIALS = ["<|pad|>", "<|startoftext|>", "<|endoftext|>", "<|fim_pre|>", "<|fim_mid|>", "<|fim_suf|>",
            "<|im_start|>", "<|im_end|>", "<|tool_list_start|>", "<|tool_list_end|>",
            "<|tool_call_start|>", "<|tool_call_end|>", "<|tool_response_start|>", "<|tool_response_end|>"]
SKIP = {"test", "tests", "idlelib", "lib2to3", "site-packages", "ensurepip", "turtledemo", "tkinter", "pydoc_data"}


def docstrings(root: pathlib.Path):
    for path in sorted(root.rglob("*.py")):
        if SKIP.intersection(path.relative_to(root).parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 40:
                    yield doc.strip()


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "default-model-work")
    out.mkdir(parents=True, exist_ok=True)
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    texts = list(docstrings(root))
    corpus = "\n\n".join(texts) + "\n"
    (out / "corpus.txt").write_text(corpus, encoding="utf-8")

    tokenizer = Tokenizer(models.BPE())
    split = Regex(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(split, behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=4096, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer.post_processor = tokenizers.processors.TemplateProcessing(
        single="<|startoftext|> $A", pair="<|startoftext|> $A <|startoftext|> $B",
        special_tokens=[("<|startoftext|>", 1)])
    tokenizer.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": "<|startoftext|>", "eos_token": "<|im_end|>", "pad_token": "<|pad|>",
        "model_max_length": 1024}, indent=2))
    print(f"{len(texts)} docstrings, {len(corpus):,} characters, vocabulary {tokenizer.get_vocab_size()}, "
          f"tokenizers {tokenizers.__version__}, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
