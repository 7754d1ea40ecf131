"""Conversations on the starter model (pipelines/chat.py): the CLI end to end, changes that keep the
untouched pixels, undo and redo bit for bit, refusals that draw nothing, and the conversation kept as JSON
and exported as a zip."""

import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from pipelines.__main__ import main
from pipelines.core.metadata import read_png
from pipelines.tasks import chat_state
from pipelines.tasks.chat import Conversation, Snapshot, _step, say
from worlds.shapes.scene_parser import parse_image
from worlds.shapes.world import parse_sentence, render_pil, shape_mask
from zoo.errors import BadInput

TWO = "a large red circle on the left and a small blue square on the right on a white background, flat style"


@pytest.fixture(scope="module")
def talked(cache):
    """A conversation drawn once for the tests below: draw, change, question, undo, redo, refusal."""
    conversation = Conversation()
    rows = [
        say(cache, conversation, message, seed=5)
        for message in (
            TWO,
            "make the square green",
            "what colour is the square?",
            "undo",
            "redo",
            "make the circle bigger",
        )
    ]
    return conversation, rows


def test_each_message_gets_its_action(talked):
    _, rows = talked
    assert [r["action"] for r in rows] == ["draw", "change", "answer", "undo", "redo", "refuse"]
    assert [r["picture"] for r in rows] == [0, 1, None, 0, 1, None]
    assert "green" in rows[2]["reply"]  # read from the changed picture
    assert "already large" in rows[5]["reply"]


def test_a_change_keeps_every_pixel_outside_the_changed_object(talked):
    conversation, _ = talked
    before, after = (np.asarray(p.image, np.int16) for p in conversation.pictures[:2])
    square = parse_sentence(TWO).objects[1]
    touched = shape_mask(square.shape, square.size, square.position, "flat")
    assert np.array_equal(before[~touched], after[~touched]) and not np.array_equal(before, after)


def test_undo_and_redo_give_back_the_kept_pictures_bit_for_bit(cache, talked):
    conversation, _ = talked
    assert conversation.at == 1
    conversation2 = chat_state.from_json(json.loads(json.dumps(chat_state.to_json(conversation))))
    undo = say(cache, conversation2, "撤销", seed=5)
    assert undo["action"] == "undo" and undo["reply"].startswith("已撤销")
    assert np.array_equal(np.asarray(conversation2.current.image), np.asarray(conversation.pictures[0].image))
    again = say(cache, conversation2, "undo", seed=5)
    assert again["action"] == "refuse" and again["picture"] is None


def test_a_question_is_answered_from_the_picture_not_from_memory(cache, talked):
    conversation, _ = talked
    copy = chat_state.from_json(chat_state.to_json(conversation))
    copy.pictures[copy.at] = type(copy.current)(render_pil(parse_sentence(TWO.replace("blue", "pink"))), {}, 9)
    row = say(cache, copy, "what colour is the square?", seed=5)
    assert "pink" in row["reply"]


def test_refusals_draw_nothing(cache, talked, monkeypatch):
    conversation, _ = talked
    copy = chat_state.from_json(chat_state.to_json(conversation))
    copy.focus = None  # nothing talked about: "it" names neither object
    monkeypatch.setattr(cache, "use_inpaint", lambda *a, **k: pytest.fail("a refusal drew"))
    for message in ("make it bigger", "remove the triangle", "make the circle bigger"):
        row = say(cache, copy, message, seed=5)
        assert row["action"] == "refuse" and row["picture"] is None and row["reply"].endswith(".")
    assert len(copy.pictures) == len(conversation.pictures)


def test_hostile_conversations_are_refused_with_one_sentence(talked):
    conversation, _ = talked
    good = chat_state.to_json(conversation)
    bad = [
        "not json",
        {"version": 2},
        good | {"at": 7},
        good | {"pictures": [{"png": "data:image/png;base64,AAAA", "turn": 1}]},
        good | {"pictures": [{"png": "file:///etc/passwd", "turn": 1}]},
        good | {"focus": "../../x"},
        good | {"turns": [{"turn": 1, "message": "x", "action": "rm -rf", "reply": "", "picture": None}]},
    ]
    for value in bad:
        with pytest.raises(BadInput, match="not one Atelier wrote"):
            chat_state.from_json(value)
    assert chat_state.from_json(None).turns == []


def test_the_export_holds_the_pngs_with_their_parameters_and_the_thread(talked, tmp_path):
    conversation, _ = talked
    path = chat_state.export_zip(conversation, tmp_path / "c.zip")
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        assert names == ["0001.png", "0002.png", "thread.json"]
        thread = json.loads(archive.read("thread.json"))
        archive.extract("0002.png", tmp_path)
    assert [t["image"] for t in thread] == ["0001.png", "0002.png", None, "0001.png", "0002.png", None]
    assert read_png(tmp_path / "0002.png")["request"] == "make the square green"


def test_the_command_line_writes_turns_and_pictures(registry_path, tmp_path):
    script = tmp_path / "script.txt"
    script.write_text(f"{TWO}\n改成绿色\nmake the square green\n撤销\nwhat is in the picture?\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["--registry", str(registry_path), "chat", "--seed", "3", "--out", str(out), str(script)]) == 0
    rows = [json.loads(line) for line in (out / "turns.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["turn"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["action"] for r in rows] == ["draw", "refuse", "change", "undo", "answer"]
    assert [r["image"] for r in rows] == ["0001.png", None, "0003.png", "0001.png", None]
    assert set(rows[0]) == {"turn", "message", "action", "reply", "image"} and rows[1]["message"] == "改成绿色"
    first = Image.open(out / "0001.png")
    assert (
        parse_image(first).objects[1].colour == "blue"
        and parse_image(Image.open(out / "0003.png")).objects[1].colour == "green"
    )
    assert rows[4]["reply"].lower() == TWO  # the answer reads the picture undo went back to


def test_the_command_line_refuses_an_empty_script(registry_path, tmp_path, capsys):
    script = tmp_path / "empty.txt"
    script.write_text("\n\n", encoding="utf-8")
    assert main(["--registry", str(registry_path), "chat", "--out", str(tmp_path / "o"), str(script)]) == 2
    assert "no messages" in capsys.readouterr().err


def test_a_background_change_keeps_the_objects_pixel_for_pixel(cache):
    scene = parse_sentence(TWO.replace("flat style", "outline style"))
    conversation = Conversation([Snapshot(render_pil(scene), {}, 1)], 0)
    row = say(cache, conversation, "make the background black", seed=2, candidates=1)
    assert row["action"] == "change"
    drawn = np.zeros((64, 64), bool)
    for o in scene.objects:
        drawn |= shape_mask(o.shape, o.size, o.position, scene.style)
    before, after = (np.asarray(p.image) for p in conversation.pictures)
    assert np.array_equal(before[drawn], after[drawn]) and not np.array_equal(before, after)


@pytest.mark.parametrize(
    "message, step",
    [
        ("undo", "undo"),
        ("Undo.", "undo"),
        ("can you undo that?", "undo"),
        ("no, undo", "undo"),
        ("撤销", "undo"),
        ("撤回一下", "undo"),
        ("redo", "redo"),
        ("please redo that", "redo"),
        ("重做", "redo"),
        ("make it bigger", None),
        ("undo the circle", None),
    ],
)
def test_undo_and_redo_are_read_in_both_languages(message, step):
    assert _step(message) == step


def test_the_kept_conversation_leaves_out_the_oldest_pictures_past_its_limits(talked, monkeypatch):
    conversation, _ = talked
    monkeypatch.setattr(chat_state, "MAX_PICTURES", 1)
    kept = chat_state.to_json(conversation)
    assert len(kept["pictures"]) == 1 and kept["at"] == 0
    assert [t["picture"] for t in kept["turns"]] == [None, 0, None, None, 0, None]
    assert chat_state.from_json(kept).current.turn == 2


def test_a_draw_that_does_not_read_as_a_scene_is_drawn_again(cache, monkeypatch):
    from pipelines.tasks import chat as chatting

    real, seeds = chatting.run, []

    def first_unreadable(cache, job, control=None):
        seeds.append(job.seed)
        result = real(cache, job, control)
        if len(seeds) == 1:  # two red objects side by side: not a scene of the world
            two_reds = np.asarray(render_pil(parse_sentence(TWO.replace("blue", "pink"))))
            two_reds = np.where(two_reds == (240, 120, 180), (220, 40, 40), two_reds).astype(np.uint8)
            for picture in result.pictures:
                picture.image = Image.fromarray(two_reds)
        return result

    monkeypatch.setattr(chatting, "run", first_unreadable)
    row = say(cache, Conversation(), TWO, seed=5, candidates=1)
    assert len(seeds) == 2 and seeds[0] != seeds[1]
    assert row["action"] == "draw" and row["reply"].endswith(f"{TWO}.")
