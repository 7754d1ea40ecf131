"""LoRA adapters on a loaded text-to-image pipeline: put on for one run, taken off after it.

The UNet and text-encoder parts load through diffusers' `load_lora_weights` (safetensors only); an
adapter trained by Atelier may carry a decoder part too (vae_decoder_lora.safetensors), injected with
peft. Taking an adapter off puts the base layers back, so the base model's pictures are bit for bit
what they were before it was ever loaded.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

from zoo.data_folder import data_folder
from zoo.errors import BrokenCheckpoint, UnsafeCheckpoint

WEIGHTS = "pytorch_lora_weights.safetensors"
DECODER_WEIGHTS = "vae_decoder_lora.safetensors"
WORDS_FOLDER = "embeddings"  # new words, one textual-inversion file each: WORD.safetensors
WORD = re.compile(r"[a-z]{2,32}")
DECODER_TARGETS = r".*(conv1|conv2|conv_out|upsamplers\.0\.conv)$"
TRAINED = "trained/"  # the ids of the adapters the Train tab made: trained/NAME


def weights_file(folder: Path) -> str:
    """The adapter's safetensors file name in `folder` (pickled weights are never loaded)."""
    if (folder / WEIGHTS).is_file():
        return WEIGHTS
    found = sorted(p.name for p in folder.glob("*.safetensors") if p.name != DECODER_WEIGHTS)
    if not found:
        raise UnsafeCheckpoint(f"The adapter in '{folder.name}' has no safetensors weights; Atelier loads no others.")
    return found[0]


def locate(path: Path) -> tuple[Path, str]:
    """(folder, weights file name) of an adapter given as its folder or its .safetensors file."""
    if path.is_file():
        if path.suffix != ".safetensors":
            raise UnsafeCheckpoint(f"'{path.name}' is not a .safetensors file; Atelier loads adapters from no others.")
        return path.parent, path.name
    return path, weights_file(path)


def apply(pipe, path: Path, name: str, scale: float) -> None:
    """Loads the adapter at `path` (its folder or file) onto the pipeline at `scale`."""
    folder, weights = locate(path)
    try:
        pipe.load_lora_weights(str(folder), weight_name=weights, adapter_name=name)
        pipe.set_adapters([name], [scale])
        if weights == WEIGHTS and (folder / DECODER_WEIGHTS).is_file():
            _apply_decoder(pipe.vae.decoder, folder / DECODER_WEIGHTS, scale)
        if weights == WEIGHTS:
            _apply_words(pipe, folder / WORDS_FOLDER)
    except UnsafeCheckpoint:
        remove(pipe)  # whatever loaded before the refusal comes off again
        raise
    except Exception as e:  # a damaged file, weights of another model: the base stays as it was
        remove(pipe)
        raise BrokenCheckpoint(
            f"The adapter '{name}' does not fit this model or its files are damaged ({type(e).__name__})."
        ) from e


def _apply_decoder(decoder, path: Path, scale: float) -> None:
    from peft import LoraConfig, inject_adapter_in_model, set_peft_model_state_dict
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), "pt") as f:
        rank = int((f.metadata() or {}).get("rank", 8))
    weights = load_file(str(path))
    for key in weights:
        if "lora_B" in key:
            weights[key] = weights[key] * scale  # the update is linear in B
    inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=rank, target_modules=DECODER_TARGETS), decoder)
    set_peft_model_state_dict(decoder, weights)


def new_words(adapter: Path) -> list[str]:
    """The new words an adapter (its folder or weights file) teaches; [] for adapters that teach none."""
    folder = adapter if adapter.is_dir() else adapter.parent
    return sorted(f.stem for f in (folder / WORDS_FOLDER).glob("*.safetensors") if WORD.fullmatch(f.stem))


def _apply_words(pipe, folder: Path) -> None:
    """The adapter's new words (textual inversion): each its own token, so other prompts tokenize as before."""
    files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    words = [f.stem for f in files]
    if not all(WORD.fullmatch(w) for w in words):
        raise UnsafeCheckpoint("The adapter's new words must be lowercase letters; this one names others.")
    if words:
        pipe.load_textual_inversion([str(f) for f in files], token=words)
        pipe._atelier_words = words


def remove(pipe) -> None:
    """Every adapter off: diffusers unloads the UNet and text-encoder layers and the new words, the decoder's
    layers are swapped back."""
    from peft.tuners.lora import LoraLayer

    pipe.unload_lora_weights()
    words = getattr(pipe, "_atelier_words", None)
    if words:
        pipe.unload_textual_inversion(words)
        pipe._atelier_words = None
    decoder = pipe.vae.decoder
    for name, module in list(decoder.named_modules()):
        if isinstance(module, LoraLayer):
            parent_name, _, child = name.rpartition(".")
            setattr(decoder.get_submodule(parent_name) if parent_name else decoder, child, module.base_layer)


@contextmanager
def applied(pipe, folder: Path | None, name: str, scale: float):
    """The pipeline with the adapter on (nothing done for folder None), taken off afterwards."""
    if folder is None:
        yield pipe
        return
    apply(pipe, Path(folder), name, scale)
    try:
        yield pipe
    finally:
        remove(pipe)


def trained_entries(root: Path) -> list:
    """Registry entries (trained/NAME) for the adapters the Train tab finished under root/NAME/adapter."""
    import json

    from zoo.registry import ModelEntry

    found = []
    for config in sorted(root.glob("*/adapter/training_config.json")) if root.is_dir() else []:
        folder = config.parent
        if not (folder / WEIGHTS).is_file():
            continue
        try:
            base = json.loads(config.read_text())["base"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        name = folder.parent.name
        found.append(
            ModelEntry(f"{TRAINED}{name}", "lora", "load_lora_weights", {}, 0.0, "yours", path=folder, base=base)
        )
    return found


def trained_folder() -> Path:
    """Where the Train tab keeps its uploads and adapters on this machine (zoo/data_folder.py)."""
    return data_folder() / "train"


def with_trained(registry, model_id):
    """`registry`, or, when `model_id` is a trained/ id it does not know (an adapter finished after it was
    loaded, e.g. in a Ray replica), with the adapters of trained_folder() read again. The id only picks among
    the folders found there: no path is ever made from it."""
    if not isinstance(model_id, str) or not model_id.startswith(TRAINED) or model_id in registry.entries:
        return registry
    return registry.with_entries(trained_entries(trained_folder()))
