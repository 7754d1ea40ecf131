"""Reads registry.toml into plain, validated dataclasses."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from worlds import KNOWN_WORLDS
from zoo.errors import BadInput, InvalidRegistry, UnknownModel

DEFAULT_REGISTRY = Path(__file__).resolve().parent / "registry.toml"
TASKS = ("text-to-image", "prompt-expansion", "captioning", "image-scoring", "lora", "vae")
LOADERS = {
    "text-to-image": ("StableDiffusionPipeline", "StableDiffusionXLPipeline"),
    "prompt-expansion": ("AutoModelForCausalLM",),
    "captioning": ("BlipForConditionalGeneration",),
    "image-scoring": ("CLIPModel",),
    "lora": ("load_lora_weights",),
    "vae": ("AutoencoderTiny",),
}
DTYPES = ("float16", "bfloat16", "float32")
DEVICES = ("cuda", "mps", "cpu")
# a hub repo id: namespace/name of letters, digits, '-', '_', '.' (never '..' or a leading '.')
REPO_ID = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
# a branch, a tag, refs/pr/N, or a commit
REVISION = re.compile(r"^(?!.*\.\.)(?!/)[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$")
LOCAL_PATH = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_./-]{0,200}$")
MODEL_ID = REPO_ID


@dataclass(frozen=True)
class ModelEntry:
    id: str
    task: str
    loader: str
    dtype: dict[str, str]
    memory_gb: float
    licence: str
    defaults: dict = field(default_factory=dict)
    repo: str | None = None
    revision: str = "main"
    path: Path | None = None  # absolute, resolved against the registry's folder
    description: str = ""
    mode: str = "completion"  # prompt-expansion: chat | completion
    prompt_template: str = "{request}"
    keep_request: bool = True
    expander: str | None = None
    captioner: str | None = None
    scorer: str | None = None
    tiny_vae: str | None = None  # text-to-image: the tiny autoencoder of previews and fast decode
    world: str | None = None  # "shapes": the model speaks the starter world's canonical sentences
    base: str | None = None  # lora: the text-to-image model it adapts
    scale: float = 1.0  # lora: the default strength

    @property
    def is_local(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class Registry:
    entries: dict[str, ModelEntry]
    source: Path
    preferred: dict[str, str] = field(default_factory=dict)  # task -> the default model chosen for this machine

    def with_defaults(self, models: dict[str, str]) -> Registry:
        """The same entries with these defaults (zoo/defaults.py chooses them for the machine)."""
        for task, model_id in models.items():
            self.pick(model_id, task)
        return replace(self, preferred=dict(models))

    def get(self, model_id: str) -> ModelEntry:
        check_model_id(model_id)
        if model_id not in self.entries:
            raise UnknownModel(f"There is no model '{model_id}' in the zoo; pick one of: {', '.join(self.entries)}.")
        return self.entries[model_id]

    def pick(self, model_id: str | None, task: str) -> ModelEntry:
        """The named model, checked to serve `task`; with no name, the task's default."""
        if not model_id:
            return self.default(task)
        entry = self.get(model_id)
        if entry.task != task:
            raise BadInput(f"'{entry.id}' is a {entry.task} model, not a {task} one.")
        return entry

    def for_task(self, task: str) -> list[ModelEntry]:
        return [e for e in self.entries.values() if e.task == task]

    def adapters_for(self, model_id: str) -> list[ModelEntry]:
        """The LoRA adapters that fit a text-to-image model."""
        return [e for e in self.entries.values() if e.task == "lora" and e.base == model_id]

    def with_entries(self, extra: list[ModelEntry]) -> Registry:
        """The registry with `extra` entries added or replaced (adapters trained or named at run time)."""
        return replace(self, entries={**self.entries, **{e.id: e for e in extra}})

    def default(self, task: str) -> ModelEntry:
        """The default chosen for this machine, else the starter default."""
        if task in self.preferred:
            return self.entries[self.preferred[task]]
        return self.starter_default(task)

    def starter_default(self, task: str) -> ModelEntry:
        """The task's first local (starter) entry, else its first entry: what works offline."""
        entries = self.for_task(task)
        if not entries:
            raise UnknownModel(f"The zoo has no model for {task}.")
        return next((e for e in entries if e.is_local), entries[0])


def check_model_id(model_id: str) -> None:
    if not isinstance(model_id, str) or not MODEL_ID.match(model_id):
        raise UnknownModel(f"'{str(model_id)[:80]}' is not a model id; ids look like 'owner/name'.")


def load_registry(path: Path | str = DEFAULT_REGISTRY) -> Registry:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidRegistry(f"The registry file {path} does not exist.") from None
    except IsADirectoryError:
        raise InvalidRegistry(f"The registry {path} is a folder; give its registry.toml file.") from None
    except UnicodeDecodeError:
        raise InvalidRegistry(f"The registry file {path} is not UTF-8 text; give a registry.toml file.") from None
    except OSError as e:
        raise InvalidRegistry(f"The registry file {path} cannot be read ({e.strerror}).") from None
    except tomllib.TOMLDecodeError as e:
        raise InvalidRegistry(f"The registry file {path} is not valid TOML ({e}).") from None
    entries = {}
    for raw in data.get("model", []):
        entry = _entry(raw, path.parent)
        if entry.id in entries:
            raise InvalidRegistry(f"The registry lists '{entry.id}' twice.")
        entries[entry.id] = entry
    if not entries:
        raise InvalidRegistry(f"The registry {path} lists no [[model]] entries.")
    for listed in entries.values():
        refs: tuple[tuple[str | None, str], ...] = (
            (listed.expander, "prompt-expansion"),
            (listed.captioner, "captioning"),
            (listed.scorer, "image-scoring"),
            (listed.tiny_vae, "vae"),
        )
        if listed.task == "lora":
            refs += ((listed.base, "text-to-image"),)
        for ref, task in refs:
            if ref and (ref not in entries or entries[ref].task != task):
                raise InvalidRegistry(
                    f"'{listed.id}' names '{ref}' as its {task} model, but the registry has no such entry."
                )
    return Registry(entries, path)


def _entry(raw: dict, base: Path) -> ModelEntry:
    name = raw.get("id", "?")

    def bad(why: str) -> InvalidRegistry:
        return InvalidRegistry(f"Registry entry '{name}': {why}.")

    known = set(ModelEntry.__dataclass_fields__)
    if unknown := set(raw) - known:
        raise bad(f"unknown keys {sorted(unknown)}")
    if not isinstance(name, str) or not MODEL_ID.match(name):
        raise bad("the id must look like 'owner/name'")
    if raw.get("task") not in TASKS:
        raise bad(f"task must be one of {TASKS}")
    if raw["task"] == "lora":
        raw = _lora_defaults(raw, bad)
    if raw.get("loader") not in LOADERS[raw["task"]]:
        raise bad(f"loader must be one of {LOADERS[raw['task']]} for {raw['task']}")
    dtype = raw.get("dtype", {})
    if set(dtype) != set(DEVICES) or not set(dtype.values()) <= set(DTYPES):
        raise bad(f"dtype must give one of {DTYPES} for each of {DEVICES}")
    if ("repo" in raw) == ("path" in raw):
        raise bad("give exactly one of repo (with revision) or path")
    path = None
    if "repo" in raw:
        if not REPO_ID.match(str(raw["repo"])):
            raise bad("repo must be a hub id like 'owner/name'")
        if not REVISION.match(str(raw.get("revision", "main"))):
            raise bad("revision must be a branch, tag, refs/pr/N or commit")
    else:
        if not LOCAL_PATH.match(str(raw["path"])):
            raise bad("path must be a relative folder inside the registry's folder")
        path = (base / raw["path"]).resolve()
        if not path.is_relative_to(base.resolve()):
            raise bad("path must stay inside the registry's folder")
    if raw.get("world") is not None and raw["world"] not in KNOWN_WORLDS:
        raise bad(f"world must be one of {KNOWN_WORLDS}")
    if raw.get("mode", "completion") not in ("chat", "completion"):
        raise bad("mode must be chat or completion")
    if "{request}" not in raw.get("prompt_template", "{request}"):
        raise bad("prompt_template must contain {request}")
    try:
        memory = float(raw.get("memory_gb", 0))
    except (TypeError, ValueError):
        raise bad("memory_gb must be a number") from None
    return ModelEntry(**{**raw, "path": path, "memory_gb": memory})


def _lora_defaults(raw: dict, bad) -> dict:
    """A lora entry names its base and may leave out what only models need (loader, dtype, memory)."""
    if not isinstance(raw.get("base"), str) or not MODEL_ID.match(raw["base"]):
        raise bad("a lora entry needs base = the id of the text-to-image model it adapts")
    scale = raw.get("scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 <= scale <= 2:
        raise bad("scale must be a number from 0 to 2")
    every = {d: "float32" for d in DEVICES}
    return {"loader": "load_lora_weights", "dtype": every, "memory_gb": 0.0, **raw, "scale": float(scale)}
