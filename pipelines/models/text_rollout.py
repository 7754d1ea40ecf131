"""Attention rollout through a CLIP text encoder (Abnar and Zuidema, 2020): how much of each token the
encoder's output at every position carries.

A causal text encoder moves a word into the positions after it: in "on a gray background" the colour
reaches the UNet mostly through "background" and the end-of-text positions, not through "gray"'s own
position. Weighting every position's attention map by how much of a word it carries gives that word's
map (pipelines/models/word_maps.py); bench/explain.py measures it against the word's own positions alone.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import torch

KEPT = 256  # prompts whose rollout is kept (a batch of one prompt's pictures needs it once)
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per text encoder: {token ids: shares}
_KEEPING = threading.Lock()


def _causal_attention(layer, hidden: torch.Tensor) -> torch.Tensor:
    """One CLIP encoder layer's attention, heads averaged: (prompts, tokens, tokens) for (prompts, tokens, width)."""
    attn = layer.self_attn
    x = layer.layer_norm1(hidden)
    rows, tokens, heads = x.shape[0], x.shape[1], attn.num_heads
    q = attn.q_proj(x).view(rows, tokens, heads, -1).transpose(1, 2)
    k = attn.k_proj(x).view(rows, tokens, heads, -1).transpose(1, 2)
    scores = (q @ k.transpose(-1, -2)).float() * attn.scale
    future = torch.ones(tokens, tokens, dtype=torch.bool, device=x.device).triu(1)
    return scores.masked_fill(future, float("-inf")).softmax(-1).mean(1)


def _rollouts(text_encoder, input_ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out = text_encoder(input_ids.to(text_encoder.device), output_hidden_states=True)
        layers = getattr(text_encoder, "text_model", text_encoder).encoder.layers
        eye = torch.eye(input_ids.shape[1], device=text_encoder.device)
        shares = eye.expand(input_ids.shape[0], -1, -1)
        for layer, hidden in zip(layers, out.hidden_states):  # hidden_states[i] is the input of layer i
            shares = (0.5 * _causal_attention(layer, hidden) + 0.5 * eye) @ shares
    return shares.cpu()


def rollout(text_encoder, input_ids: list[list[int]]) -> list[torch.Tensor]:
    """Per prompt (tokens, tokens): row j holds the shares of each token in the encoder's output at
    position j (rows sum to 1; each layer's residual path counts as half). Prompts must be padded alike."""
    keys = [tuple(ids) for ids in input_ids]
    with _KEEPING:
        kept = _KEPT.setdefault(text_encoder, OrderedDict())
        found = {k: kept[k] for k in keys if k in kept}
    todo = list(dict.fromkeys(k for k in keys if k not in found))
    if todo:
        found |= dict(zip(todo, _rollouts(text_encoder, torch.tensor(todo))))
        with _KEEPING:
            for key in todo:
                kept[key] = found[key]
                while len(kept) > KEPT:
                    kept.popitem(last=False)
    return [found[k] for k in keys]
