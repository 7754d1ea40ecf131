"""The feedback store without a server: the database (WAL, versions, upgrades), the checks that keep bad
ratings out, the report's blind-spot table on a hand-written set, the export, the command line, and that an
acknowledged rating survives the writing process being killed with SIGKILL."""

from __future__ import annotations

import io
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.__main__ import main as cli
from pipelines.feedback import schema
from pipelines.feedback.export import export
from pipelines.feedback.rating import MAX_NOTE, rate
from pipelines.feedback.report import format_report, report
from pipelines.feedback.store import FeedbackStore, FeedbackUnavailable, Made, picture_id
from zoo.errors import BadInput

ROOT = Path(__file__).resolve().parent.parent


def png(seed: int, side: int = 64) -> bytes:
    """A small PNG of its own: random blocks of colour, far from any other seed's."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(blocks).resize((side, side), Image.Resampling.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


def row(attribute: str, ok: bool) -> dict:
    return {"attribute": attribute, "wanted": "x", "seen": "x" if ok else "y", "ok": ok}


def made(seed: int, receipt=None, model: str = "starter/shapes-diffusion") -> Made:
    prompt = f"prompt {seed}"
    settings = {"prompt": prompt, "seed": seed, "model": model}
    return Made(png(seed), f"request {seed}", prompt, model, settings, receipt)


@pytest.fixture
def store(tmp_path):
    s = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    yield s
    s.close()


def test_sqlite_runs_in_wal_with_full_sync_at_the_current_version(store, tmp_path):
    assert store.version() == schema.VERSION
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    assert store.location == str(tmp_path / "feedback.db")


def test_a_version_1_database_upgrades_itself(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # the layout version 1 wrote: the tables, no index on made_at
        old.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        old.execute("INSERT INTO schema_version VALUES (1)")
        old.execute(
            "CREATE TABLE pictures (id VARCHAR(32) PRIMARY KEY, made_at DATETIME NOT NULL, png BLOB NOT NULL, "
            "request TEXT NOT NULL, prompt TEXT NOT NULL, model VARCHAR(200), settings JSON NOT NULL, receipt JSON)"
        )
        old.execute(
            "CREATE TABLE ratings (picture_id VARCHAR(32) PRIMARY KEY REFERENCES pictures(id) ON DELETE CASCADE, "
            "rating VARCHAR(4) NOT NULL, note TEXT NOT NULL, wrong JSON NOT NULL, user VARCHAR(200), "
            "rated_at DATETIME NOT NULL)"
        )
    store = FeedbackStore(f"sqlite:///{path}")
    assert store.version() == 2
    with store.engine.connect() as c:
        indexes = [r[1] for r in c.exec_driver_sql("PRAGMA index_list(pictures)")]
    assert "pictures_made_at" in indexes
    store.remember([made(1)])
    assert rate(store, picture_id(png(1)), "up") == picture_id(png(1))
    store.close()


def test_a_database_it_cannot_use_gets_a_sentence(tmp_path):
    newer = tmp_path / "newer.db"
    FeedbackStore(f"sqlite:///{newer}").close()
    with sqlite3.connect(newer) as c:
        c.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(FeedbackUnavailable, match="newer Atelier"):
        FeedbackStore(f"sqlite:///{newer}")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is no database" * 100)
    with pytest.raises(FeedbackUnavailable, match="cannot be opened"):
        FeedbackStore(f"sqlite:///{garbage}")
    with pytest.raises(FeedbackUnavailable, match="SQLAlchemy URL"):
        FeedbackStore("no-such-dialect://x")


def test_rating_again_replaces_the_earlier_rating(store):
    receipt = [row("object1.colour", True), row("object1.shape", False)]
    (pid,) = store.remember([made(1, receipt)])
    assert store.remember([made(1, receipt)]) == [pid]  # the same picture is one record
    rate(store, pid, "down", "the colour is off", ["object1.colour"])
    rate(store, pid, "👍", "fine after all")
    (only,) = store.rated()
    assert (only.picture_id, only.rating, only.note, only.wrong) == (pid, "up", "fine after all", [])
    assert (only.request, only.prompt, only.model, only.receipt) == ("request 1", "prompt 1", made(1).model, receipt)
    assert only.user is None and store.count() == 1


BAD = [
    ("an unknown id", dict(picture_id="0" * 32, rating="up")),
    ("an id that is a path", dict(picture_id="../../etc/passwd", rating="up")),
    ("an id that is a URL", dict(picture_id="http://169.254.169.254/latest/meta-data", rating="up")),
    ("no id", dict(picture_id=None, rating="up")),
    ("a rating other than up or down", dict(rating="sideways")),
    ("a number as the rating", dict(rating=5)),
    ("no rating", dict(rating=None)),
    ("a note over the limit", dict(rating="up", note="x" * (MAX_NOTE + 1))),
    ("a note that is not text", dict(rating="up", note={"a": 1})),
    ("an attribute not in the receipt", dict(rating="down", wrong=["object9.colour"])),
    ("an attribute that is a path", dict(rating="down", wrong=["/etc/passwd"])),
    ("attributes that are not names", dict(rating="down", wrong=[{"x": 1}])),
    ("too many attributes", dict(rating="down", wrong=["object1.colour"] * 65)),
]


@pytest.mark.parametrize("what, values", BAD, ids=[b[0] for b in BAD])
def test_bad_ratings_get_a_sentence_and_store_nothing(store, what, values):
    (pid,) = store.remember([made(2, [row("object1.colour", True)])])
    values = {"picture_id": pid} | values
    with pytest.raises(BadInput) as refused:
        rate(store, **values)
    message = str(refused.value)
    assert message.endswith(".") and "\n" not in message and "/" not in message.replace("👍 or 👎", "")
    assert "passwd" not in message and "169.254" not in message
    assert store.count() == 0


def test_attributes_of_a_picture_without_receipt_are_refused(store):
    (pid,) = store.remember([made(3, None)])
    with pytest.raises(BadInput, match="no receipt"):
        rate(store, pid, "down", wrong=["object1.colour"])
    assert store.count() == 0
    rate(store, pid, "down", note="not what I asked")
    assert store.count() == 1


# A hand-written set of ratings and the table it must give. Each picture: its receipt (attribute: ✓/✗),
# the rating and the attributes marked wrong.
HAND_WRITTEN = [
    ({"colour": True, "shape": True}, "down", ["colour"]),  # colour: missed
    ({"colour": True, "shape": False}, "up", []),  # shape: false alarm
    ({"colour": False, "shape": True}, "down", ["colour", "shape"]),  # colour ✗ agreed; shape: missed
    ({"colour": False, "shape": False}, "up", ["shape"]),  # colour: false alarm; shape ✗ agreed (marked)
    ({"colour": True, "shape": True}, "up", []),  # all agree
    ({"colour": False, "shape": True}, "down", []),  # colour ✗ with 👎: not a false alarm
    ({"colour": True}, "up", ["colour"]),  # 👍 yet colour marked wrong: missed
]
EXPECTED = {  # attribute: (rated, marked wrong, receipt ✓, missed, receipt ✗, false alarms)
    "colour": (7, 3, 4, 2, 3, 1),
    "shape": (6, 2, 4, 1, 2, 1),
}


def test_the_blind_spot_table_of_a_hand_written_set(store):
    for seed, (receipt, rating, wrong) in enumerate(HAND_WRITTEN):
        rows = [row(name, ok) for name, ok in receipt.items()]
        (pid,) = store.remember([made(10 + seed, rows, model="a" if seed < 4 else "b")])
        rate(store, pid, rating, wrong=wrong)
    result = report(store.rated())
    got = {
        a["attribute"]: (
            a["rated"],
            a["marked_wrong"],
            a["receipt_ok"],
            a["missed"],
            a["receipt_failed"],
            a["false_alarms"],
        )
        for a in result["attributes"]
    }
    assert got == EXPECTED
    colour = result["attributes"][0]
    assert (colour["share_missed"], colour["share_false_alarms"]) == (0.5, round(1 / 3, 4))
    assert result["models"] == [
        {"model": "a", "ratings": 4, "up": 2, "share_up": 0.5},
        {"model": "b", "ratings": 3, "up": 2, "share_up": round(2 / 3, 4)},
    ]
    assert (result["ratings"], result["up"], result["down"]) == (7, 4, 3)
    text = format_report(result)
    assert "colour" in text and "33.3 %" in text and "blind spots" in text


def test_the_export_is_an_imagefolder_of_the_liked_pictures(store, tmp_path):
    for seed in range(5):
        (pid,) = store.remember([made(seed)])
        rate(store, pid, "up" if seed != 3 else "down")
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png(0))).save(buffer, format="PNG", compress_level=1)  # seed 0's pixels, other bytes
    same_pixels = Made(buffer.getvalue(), "another request", "another prompt", None, {"seed": 9}, None)
    nearly = np.asarray(Image.open(io.BytesIO(png(1))), np.int16) + np.random.default_rng(0).integers(
        -9, 10, (64, 64, 3)
    )
    buffer = io.BytesIO()
    Image.fromarray(np.clip(nearly, 0, 255).astype(np.uint8)).save(buffer, format="PNG")  # seed 1's, give or take
    near_pixels = Made(buffer.getvalue(), "a third request", "a third prompt", None, {"seed": 10}, None)
    store.remember([same_pixels, near_pixels])
    rate(store, same_pixels.id, "up")
    rate(store, near_pixels.id, "up")
    out = tmp_path / "liked"
    done = export(store, out, "up")
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert done.written == 4 == len(rows) and done.duplicates == [same_pixels.id, near_pixels.id]
    assert {r["text"] for r in rows} == {"prompt 0", "prompt 1", "prompt 2", "prompt 4"}
    for r in rows:
        assert (out / r["file_name"]).read_bytes() == png(int(r["text"].split()[-1]))
    assert sorted(p.name for p in out.iterdir()) == sorted([r["file_name"] for r in rows] + ["metadata.jsonl"])
    with pytest.raises(BadInput, match="already holds an export"):
        export(store, out, "up")
    from training.prepare import prepare

    prepared = prepare(out, tmp_path / "clean")  # python -m training prepare reads it with nothing dropped
    assert prepared["dropped"] == [] and len(prepared["kept"]) + len(prepared["repaired"]) == 4


def test_the_command_line_report_and_export(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = FeedbackStore(url)
    receipt = [row("object1.colour", True)]
    for seed, rating in enumerate(["up", "down", "up"]):
        (pid,) = store.remember([made(seed, receipt)])
        rate(store, pid, rating, wrong=["object1.colour"] if rating == "down" else [])
    store.close()
    assert cli(["feedback", "report", "--db", url, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["ratings"], result["up"]) == (3, 2)
    assert result["attributes"][0]["missed"] == 1
    assert cli(["feedback", "report", "--db", url]) == 0
    assert "share" in capsys.readouterr().out
    assert cli(["feedback", "export", "--liked", "--db", url, "--out", str(tmp_path / "out")]) == 0
    assert len((tmp_path / "out" / "metadata.jsonl").read_text().splitlines()) == 2
    assert cli(["feedback", "report", "--db", "nonsense://"]) == 2
    assert "SQLAlchemy URL" in capsys.readouterr().err


WRITER = textwrap.dedent(
    """
    import sys
    from tests.test_feedback import made
    from pipelines.feedback.rating import rate
    from pipelines.feedback.store import FeedbackStore

    store = FeedbackStore(sys.argv[1])
    for seed in range(int(sys.argv[2])):
        (pid,) = store.remember([made(seed)])
        rate(store, pid, "up" if seed % 3 else "down", f"note {seed}")
        print(pid, flush=True)  # acknowledged: the commit has returned
    """
)


def test_acknowledged_ratings_survive_sigkill(tmp_path):
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, "100000"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    acknowledged = []
    assert writer.stdout is not None
    while len(acknowledged) < 40:
        line = writer.stdout.readline()
        assert line, "the writer stopped before it was killed"
        acknowledged.append(line.strip())
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    acknowledged += writer.stdout.read().split()  # acknowledged before it died, still in the pipe
    store = FeedbackStore(url)  # a fresh process's view of what reached the database
    stored = [r.picture_id for r in store.rated()]
    assert len(stored) == len(set(stored))  # each at most once
    assert set(acknowledged) <= set(stored)  # every acknowledged one is there
    assert len(stored) <= len(acknowledged) + 1  # and at most the one being written when it died
    with sqlite3.connect(tmp_path / "killed.db") as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()


def test_the_default_database_is_in_the_users_data_folder_and_the_flags_choose_another(monkeypatch, tmp_path):
    import app
    from pipelines.feedback import store as feedback_store

    monkeypatch.delenv(feedback_store.URL_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert feedback_store.default_url() == f"sqlite:///{tmp_path / 'data' / 'atelier' / 'feedback.db'}"
    monkeypatch.setenv(feedback_store.URL_VARIABLE, "sqlite:////elsewhere/feedback.db")
    assert feedback_store.default_url() == "sqlite:////elsewhere/feedback.db"
    assert app.parse_args(["--no-feedback"]).no_feedback
    assert app.parse_args(["--feedback-db", "postgresql://db/atelier"]).feedback_db == "postgresql://db/atelier"
