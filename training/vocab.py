"""Tokenizers for the starter models, built from the words their training text uses.

Each is a standard transformers tokenizer saved in the usual files, so the models load with
`from_pretrained` like any hub model.
"""
from __future__ import annotations

import random
import re
from collections.abc import Iterable

from training.requests import freeform, stated_subset
from training.world import random_scene, sentence

WORD_RE = re.compile(r"\w+|[^\w\s]+")


def words_of(texts: Iterable[str]) -> list[str]:
    return sorted({w for t in texts for w in WORD_RE.findall(t.lower())})


def starter_texts(n: int = 20000, seed: int = 0) -> list[str]:
    """Canonical sentences and free-form requests enough to meet every word they can use."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        scene = random_scene(rng)
        out += [sentence(scene), freeform(stated_subset(scene, rng, rng.uniform(0.3, 1.0)), rng)]
    return out


def clip_tokenizer(words: list[str], max_length: int):
    """A CLIP byte-level BPE whose merges spell each known word as one token; unknown words
    still split into byte pieces, so any text can be encoded."""
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    base = list(bytes_to_unicode().values())
    vocab = base + [b + "</w>" for b in base]
    merges, known = [], set(vocab)
    for word in words:
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            merged = symbols[0] + symbols[1]
            if merged not in known:
                merges.append((symbols[0], symbols[1]))
                known.add(merged)
                vocab.append(merged)
            symbols = [merged] + symbols[2:]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    tokenizer = CLIPTokenizer(vocab={t: i for i, t in enumerate(vocab)}, merges=merges)
    tokenizer.model_max_length = max_length
    return tokenizer


def word_tokenizer(words: list[str], specials: list[str], **special_roles):
    """A word-level fast tokenizer (lower-cased, punctuation split off) with [UNK] for new words."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(specials + [w for w in words if w not in specials])}
    core = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", **special_roles)


def bert_tokenizer(words: list[str]):
    """A BERT WordPiece tokenizer over whole words, as BlipProcessor expects."""
    from transformers import BertTokenizer

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"]
    tokens = specials + [w for w in words if w not in specials]
    tokenizer = BertTokenizer(vocab={t: i for i, t in enumerate(tokens)}, do_lower_case=True)
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    return tokenizer
