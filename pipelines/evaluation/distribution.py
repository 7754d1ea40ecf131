"""Distribution figures for `python -m pipelines evaluate`, each named for what it really is.

- FD-<space>: the Fréchet distance between Gaussians fitted to features of the generated pictures
  and of reference pictures. It is FID only when the space is Inception-v3's pool features; here
  the space is the starter captioner's vision encoder (FD-captioner: BLIP ViT, pooled output,
  128 numbers) for a world's models, and CLIP's image embedding (FD-CLIP) for hub models.
- KID-<space>: the kernel inception distance's estimator (unbiased squared MMD with the cubic
  polynomial kernel (x.y / d + 1)^3) in the same space; again not Inception features.
- IS-<classifier>: exp(E_x KL(p(y|x) || p(y))), the Inception Score's formula with another
  classifier: the world's reading of the picture (IS-parser, hard labels: the whole parsed scene,
  so it is exp of the entropy of the scenes drawn, at most the number of pictures), or CLIP's zero-shot choice
  among the evaluated prompts (IS-CLIP-prompts, soft labels) for hub models.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from zoo.cache import ModelCache


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """|mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^1/2) for rows of features a and b."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    c_a, c_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(c_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ c_b @ root_a), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(c_a) + np.trace(c_b) - 2 * cross)


def kernel_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased squared MMD with the kernel (x.y / d + 1)^3, as KID computes it (one subset: all rows)."""
    d = a.shape[1]
    k = lambda x, y: (x @ y.T / d + 1) ** 3  # noqa: E731
    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    m, n = len(a), len(b)
    return float(
        (kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1)) - 2 * kab.mean()
    )


def inception_style_score(probabilities: np.ndarray) -> float:
    """exp(mean over pictures of KL(p(y|x) || p(y))) for rows of class probabilities."""
    p = np.clip(probabilities, 1e-12, 1)
    marginal = p.mean(0, keepdims=True)
    return float(np.exp((p * (np.log(p) - np.log(marginal))).sum(1).mean()))


def hard_label_probabilities(labels: list) -> np.ndarray:
    """One-hot rows for labels of any hashable kind."""
    classes = {label: i for i, label in enumerate(Counter(labels))}
    out = np.zeros((len(labels), len(classes)))
    out[np.arange(len(labels)), [classes[label] for label in labels]] = 1.0
    return out


def captioner_features(cache: ModelCache, captioner_id: str, images: list) -> np.ndarray:
    """The BLIP captioner's vision encoder, pooled output, one row per picture."""
    with cache.use(captioner_id) as vlm:
        model, processor = vlm.model, vlm.processor
        rows = []
        for start in range(0, len(images), 64):
            pixels = processor(images=list(images[start : start + 64]), return_tensors="pt").pixel_values
            with torch.inference_mode():
                out = model.vision_model(pixel_values=pixels.to(model.device, model.dtype))
            rows.append(out.pooler_output.float().cpu().numpy())
    return np.concatenate(rows)


def clip_features(cache: ModelCache, scorer_id: str, images: list) -> np.ndarray:
    with cache.use(scorer_id) as clip:
        model, processor = clip.model, clip.processor
        pixels = processor(images=list(images), return_tensors="pt").pixel_values
        with torch.inference_mode():
            out = model.get_image_features(pixel_values=pixels.to(model.device, model.dtype))
        out = out if isinstance(out, torch.Tensor) else out.pooler_output
    return out.float().cpu().numpy()


def figures(generated: np.ndarray, references: np.ndarray, space: str) -> dict:
    """FD-<space> and KID-<space> between two sets of feature rows (each needs at least two rows)."""
    if len(generated) < 2 or len(references) < 2:
        return {}
    return {
        f"FD-{space}": frechet_distance(generated, references),
        f"KID-{space}": kernel_distance(generated, references),
    }
