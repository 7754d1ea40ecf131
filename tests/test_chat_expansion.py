"""The hub chat expander is told to answer in English whatever the language of the request; checked on
the tiny random-weight Qwen of tests/tiny_hub.py, whose chat template is Qwen2.5's."""

from pipelines.models import expander as prompt_expansion
from pipelines.models.expander import SYSTEM_PROMPT, chat_prompt, expand
from tests.tiny_hub import PINNED
from zoo.cache import ModelCache
from zoo.registry import DEFAULT_REGISTRY, load_registry

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"
REQUEST = "画一个大的红色圆形在左边"


def test_the_system_prompt_asks_for_english():
    assert "in English whatever the language of the request" in SYSTEM_PROMPT


def test_a_chinese_request_reaches_the_chat_model_with_the_english_instruction(offline_hub, monkeypatch):
    from huggingface_hub import snapshot_download
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(snapshot_download(QWEN, revision=PINNED[QWEN]))
    prompt = chat_prompt(tokenizer, REQUEST)
    assert prompt.startswith(f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n")
    assert prompt.endswith(f"<|im_start|>user\n{REQUEST}<|im_end|>\n<|im_start|>assistant\n")

    rendered = []
    monkeypatch.setattr(
        prompt_expansion, "chat_prompt", lambda tok, text: rendered.append(chat_prompt(tok, text)) or rendered[-1]
    )
    cache = ModelCache(load_registry(DEFAULT_REGISTRY), device="cpu", budget_gb=4)
    text = expand(cache, REQUEST, QWEN, seed=4)
    assert rendered == [prompt]  # expand() rendered exactly this prompt for the chat model
    assert isinstance(text, str) and text and text == expand(cache, REQUEST, QWEN, seed=4)
