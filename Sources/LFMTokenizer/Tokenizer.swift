// Byte-level BPE tokenizer (tokenizer.json pipeline). See issue 3.
