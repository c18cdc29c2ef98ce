"""Runs llama.cpp's convert_hf_to_gguf.py (from the llama-cpp-python 0.3.36 sdist) on a model folder.

    python convert_with_llamacpp.py LLAMA_CPP_DIR MODEL_DIR OUT.gguf OUTTYPE [--tiny-tokenizer[=PRE]] [--vocab-only]

With --tiny-tokenizer the converter's BPE pre-tokenizer detection (a hash of the ids the tokenizer
gives for a fixed text) is told "lfm2" (or PRE, e.g. "qwen2" or "llama-bpe"): the tiny fixture
tokenizers use that pre-tokenizer's Split regex but a 256-320 entry vocabulary, so their hash is not in
llama.cpp's table. Nothing else is changed. --vocab-only is passed on (a tokenizer-only GGUF).
"""
import sys
from pathlib import Path

llama_cpp, model_dir, out, outtype = sys.argv[1:5]
tiny = None
extra = []
for arg in sys.argv[5:]:
    if arg == "--tiny-tokenizer":
        tiny = "lfm2"
    elif arg.startswith("--tiny-tokenizer="):
        tiny = arg.split("=", 1)[1]
    elif arg == "--vocab-only":
        extra.append(arg)
sys.path.insert(0, llama_cpp)
sys.path.insert(1, str(Path(llama_cpp) / "gguf-py"))
import convert_hf_to_gguf  # noqa: E402  (the vendored module, with its gguf-py)

if tiny:
    from conversion import base
    base.TextModel.get_vocab_base_pre = lambda self, tokenizer: tiny

sys.argv = ["convert_hf_to_gguf.py", model_dir, "--outfile", out, "--outtype", outtype, *extra]
convert_hf_to_gguf.main()
