"""Hub models in a conversation: the chat model (the tiny random-weight Qwen of tests/tiny_hub.py, whose chat
template is Qwen2.5's) turns each message into a JSON change of the scene. Random weights write garbage,
which must get a sentence and draw nothing; a well-formed answer must be carried out."""

import json

import numpy as np
import pytest

from pipelines.tasks import chat_hub
from pipelines.tasks.chat import Conversation, say
from pipelines.tasks.chat_hub import GARBLED, reading_of
from pipelines.tasks.edit_plan import region_mask
from zoo.cache import ModelCache
from zoo.registry import load_registry

MODEL = "stabilityai/sd-turbo"


@pytest.fixture
def hub_cache(offline_hub):
    return ModelCache(load_registry(), device="cpu", budget_gb=4)


def test_random_weights_write_garbage_that_draws_nothing(hub_cache, monkeypatch):
    asked, real = [], chat_hub._ask
    monkeypatch.setattr(chat_hub, "_ask", lambda *a: asked.append(real(*a)) or asked[-1])
    monkeypatch.setattr(hub_cache, "use_inpaint", lambda *a, **k: pytest.fail("garbage drew"))
    conversation = Conversation()
    row = say(hub_cache, conversation, "draw a red fox in the snow", MODEL, seed=1, steps=1)
    assert asked and isinstance(asked[0], str)  # the tiny Qwen really answered
    assert row["action"] == "refuse" and row["reply"] == GARBLED and conversation.pictures == []


def test_a_well_formed_answer_draws_then_changes_only_its_region(hub_cache, monkeypatch):
    answers = iter(
        [
            json.dumps({"action": "draw", "prompt": "a red fox in the snow", "reply": "Here is a fox."}),
            'Sure! {"action": "change", "prompt": "a red fox, purple sky", "region": "top", "reply": "Purple sky."}',
            json.dumps({"action": "answer", "reply": "A fox in the snow."}),
        ]
    )
    monkeypatch.setattr(chat_hub, "_ask", lambda *a: next(answers))
    conversation = Conversation()
    drawn = say(hub_cache, conversation, "draw a red fox in the snow", MODEL, seed=1, steps=1)
    assert drawn["action"] == "draw" and conversation.pictures[0].parameters["prompt"] == "a red fox in the snow"
    changed = say(hub_cache, conversation, "make the sky purple", MODEL, seed=1, steps=1)
    assert changed["action"] == "change" and changed["reply"] == "Purple sky."
    before, after = (np.asarray(p.image) for p in conversation.pictures)
    top = region_mask("top", conversation.pictures[0].image.size)
    assert np.array_equal(before[~top], after[~top])
    answered = say(hub_cache, conversation, "what is in the picture?", MODEL, seed=1, steps=1)
    assert answered["action"] == "answer" and answered["picture"] is None
    assert say(hub_cache, conversation, "undo", MODEL)["action"] == "undo"
    assert np.array_equal(np.asarray(conversation.current.image), before)


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "draw a fox",
        '{"action": "draw"}',
        '{"action": "delete everything", "prompt": "x"}',
        '{"action": "change", "prompt": 7}',
        "[1, 2, 3]",
        '{"action": "answer"}',
    ],
)
def test_answers_that_are_not_a_change_are_refused(answer):
    reading = reading_of(answer, None, "hello")
    assert reading.action == "refuse" and reading.change is None and reading.request is None
