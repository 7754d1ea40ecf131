"""/generate with an adapter through the API: by registry id only (a path from a client is never opened),
recorded in the PNG, read back by /png_info."""

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.test_adapters import BASE, PROMPT, random_adapter
from tests.test_app import running_app
from zoo.cache import ModelCache
from zoo.registry import ModelEntry


@pytest.fixture(scope="module")
def client(registry, tmp_path_factory):
    folder = random_adapter(tmp_path_factory.mktemp("adapter"))
    entry = ModelEntry("trained/random", "lora", "load_lora_weights", {}, 0.0, "apache-2.0", path=folder, base=BASE)
    cache = ModelCache(registry.with_entries([entry]), device="cpu", budget_gb=4)
    with running_app(cache) as url:
        yield Client(url, verbose=False), folder


def test_generate_with_an_adapter_and_read_it_back(client):
    api, _ = client
    _, _, details, pngs = api.predict(
        PROMPT, rewritten_prompt=PROMPT, seed=5, lora="trained/random", lora_scale=0.7, api_name="/generate"
    )
    assert details["pictures"][0]["lora"] == "trained/random" and details["pictures"][0]["lora_scale"] == 0.7
    info = api.predict(handle_file(pngs[0]), api_name="/png_info")
    assert (info["prompt"], info["lora"], info["lora_scale"]) == (PROMPT, "trained/random", 0.7)


@pytest.mark.parametrize("hostile", ["PATH", "../../etc/passwd", "/etc/passwd", "starter/shapes-captioner"])
def test_a_path_or_a_model_is_not_an_adapter(client, hostile):
    api, folder = client
    with pytest.raises(AppError) as refused:
        api.predict(PROMPT, seed=5, lora=str(folder) if hostile == "PATH" else hostile, api_name="/generate")
    message = str(refused.value)
    assert str(folder) not in message or hostile == "PATH" and "not a model id" in message
    assert "not a model id" in message or "not a LoRA adapter" in message
