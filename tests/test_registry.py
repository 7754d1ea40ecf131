"""registry.toml is data: validated into dataclasses, with clear errors for every bad entry."""

import pytest

from zoo.errors import InvalidRegistry, UnknownModel
from zoo.registry import DEFAULT_REGISTRY, load_registry

GOOD = """
[[model]]
id = "acme/tiny"
task = "captioning"
repo = "acme/tiny"
revision = "refs/pr/3"
loader = "BlipForConditionalGeneration"
licence = "mit"
memory_gb = 0.1
dtype = { cuda = "float16", mps = "float32", cpu = "float32" }
"""


def write(tmp_path, text):
    path = tmp_path / "registry.toml"
    path.write_text(text)
    return path


def test_the_shipped_registry_is_valid_and_complete():
    registry = load_registry(DEFAULT_REGISTRY)
    for model_id in [
        "stabilityai/sd-turbo",
        "stabilityai/sdxl-turbo",
        "stable-diffusion-v1-5/stable-diffusion-v1-5",
        "Qwen/Qwen2.5-0.5B-Instruct",
        "Gustavosta/MagicPrompt-Stable-Diffusion",
        "Salesforce/blip-image-captioning-base",
        "Salesforce/blip-image-captioning-large",
        "openai/clip-vit-base-patch32",
        "starter/shapes-diffusion",
        "starter/shapes-prompter",
        "starter/shapes-captioner",
    ]:
        assert registry.get(model_id).id == model_id
    assert registry.get("Salesforce/blip-image-captioning-base").revision.startswith("refs/pr/")
    assert registry.get("Qwen/Qwen2.5-0.5B-Instruct").mode == "chat"
    assert registry.get("Gustavosta/MagicPrompt-Stable-Diffusion").mode == "completion"
    # offline defaults are the starter models
    for task, model_id in [
        ("text-to-image", "starter/shapes-diffusion"),
        ("captioning", "starter/shapes-captioner"),
        ("prompt-expansion", "starter/shapes-prompter"),
    ]:
        assert registry.default(task).id == model_id
    for entry in registry.entries.values():
        assert entry.licence and entry.memory_gb > 0 or entry.is_local


def test_a_good_entry_reads_into_a_dataclass(tmp_path):
    entry = load_registry(write(tmp_path, GOOD)).get("acme/tiny")
    assert (entry.repo, entry.revision, entry.dtype["cuda"], entry.is_local) == (
        "acme/tiny",
        "refs/pr/3",
        "float16",
        False,
    )


@pytest.mark.parametrize(
    "change,words",
    [
        (('task = "captioning"', 'task = "painting"'), "task must be one of"),
        (('loader = "BlipForConditionalGeneration"', 'loader = "os.system"'), "loader must be one of"),
        (('repo = "acme/tiny"', 'repo = "../../etc"'), "repo must be"),
        (('revision = "refs/pr/3"', 'revision = "../../../x"'), "revision must be"),
        (('revision = "refs/pr/3"', 'revision = "/abs"'), "revision must be"),
        (('repo = "acme/tiny"\nrevision = "refs/pr/3"', 'path = "../outside"'), "path must be"),
        (('repo = "acme/tiny"\nrevision = "refs/pr/3"', 'path = "/etc"'), "path must be"),
        (('repo = "acme/tiny"', 'repo = "acme/tiny"\npath = "x"'), "exactly one of repo"),
        (('cpu = "float32"', 'cpu = "int4"'), "dtype must give"),
        (('licence = "mit"', 'licence = "mit"\ntrust_remote_code = true'), "unknown keys"),
        (("memory_gb = 0.1", 'memory_gb = "lots"'), "memory_gb must be a number"),
        (('id = "acme/tiny"', 'id = "../tiny"'), "the id must look like"),
    ],
)
def test_bad_entries_are_refused_with_the_reason(tmp_path, change, words):
    with pytest.raises(InvalidRegistry, match=words):
        load_registry(write(tmp_path, GOOD.replace(*change)))


def test_duplicates_missing_files_and_broken_toml(tmp_path):
    with pytest.raises(InvalidRegistry, match="twice"):
        load_registry(write(tmp_path, GOOD + GOOD))
    with pytest.raises(InvalidRegistry, match="does not exist"):
        load_registry(tmp_path / "nope.toml")
    with pytest.raises(InvalidRegistry, match="not valid TOML"):
        load_registry(write(tmp_path, "[[model]\nid="))
    with pytest.raises(InvalidRegistry, match="no such entry"):
        load_registry(write(tmp_path, GOOD.replace('licence = "mit"', 'licence = "mit"\ncaptioner = "acme/ghost"')))


@pytest.mark.parametrize(
    "model_id", ["../../etc/passwd", "acme/tiny/../../x", "/abs/path", "", "a" * 200, "acme/ti ny"]
)
def test_lookups_refuse_path_tricks(tmp_path, model_id):
    registry = load_registry(write(tmp_path, GOOD))
    with pytest.raises(UnknownModel):
        registry.get(model_id)
