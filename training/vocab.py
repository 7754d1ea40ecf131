"""Tokenizers for the starter models, built from the words their training text uses.

Each is a standard transformers tokenizer saved in the usual files, so the models load with
`from_pretrained` like any hub model.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable

from worlds.shapes.requests import freeform, stated_subset
from worlds.shapes.world import random_scene, sentence

CJK_CHAR = "[\u3400-\u9fff\uf900-\ufaff]"
WORD_RE = re.compile(rf"{CJK_CHAR}|[^\W\u3400-\u9fff\uf900-\ufaff]+|[^\w\s]+")  # a CJK character is one word


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
    """A CLIP byte-level BPE trained on `words` until each is one token; other words still
    split into byte pieces, so any text can be encoded."""
    from tokenizers import Tokenizer, pre_tokenizers, trainers
    from tokenizers.models import BPE
    from transformers import CLIPTokenizer

    specials = ["<|startoftext|>", "<|endoftext|>"]
    bpe = Tokenizer(BPE(end_of_word_suffix="</w>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=100_000,
        min_frequency=1,
        special_tokens=specials,
        end_of_word_suffix="</w>",
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(words, trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    base = [b + "</w>" for b in pre_tokenizers.ByteLevel.alphabet()]
    vocab = dict(model["vocab"])
    for token in base:  # every byte may end a word
        vocab.setdefault(token, len(vocab))
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges)
    tokenizer.model_max_length = max_length
    return tokenizer


def word_tokenizer(words: list[str], specials: list[str], **special_roles):
    """A word-level fast tokenizer (lower-cased, punctuation split off) with [UNK] for new words."""
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(specials + [w for w in words if w not in specials])}
    core = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [  # each CJK character alone, as WORD_RE splits
            pre_tokenizers.Split(Regex(CJK_CHAR), behavior="isolated"),
            pre_tokenizers.Whitespace(),
        ]
    )
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", **special_roles)


def bert_tokenizer(words: list[str]):
    """A BERT WordPiece tokenizer over whole words, as BlipProcessor expects."""
    from transformers import BertTokenizer

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"]
    tokens = specials + [w for w in words if w not in specials]
    tokenizer = BertTokenizer(vocab={t: i for i, t in enumerate(tokens)}, do_lower_case=True)
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    return tokenizer
