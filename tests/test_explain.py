"""Explain: per-word cross-attention maps (pipelines/models/attention_maps.py, word_maps.py, explain.py), on the
starter model and on tiny random SD / SDXL pipelines of the real architectures (tests/tiny_hub.py)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from bench.explain import hottest, word_hits
from pipelines.__main__ import main
from pipelines.core.control import RunControl
from pipelines.core.results import NONE, GenerateRequest
from pipelines.models.attention_maps import Recorder, RecordingProcessor, capture
from pipelines.models.batching import Batcher
from pipelines.models.explain import explaining, word_for_row
from pipelines.models.word_maps import WordMap, encode, token_words
from pipelines.tasks.generate import run, settings
from zoo.errors import Cancelled

MODEL = "starter/shapes-diffusion"
TWO = [
    "a large red circle on the left and a small blue cross on the right on a gray background, flat style",
    "a small green square at the top and a large pink triangle at the bottom on a white background, outline style",
]
TINY_RUN = {"steps": 2, "guidance": 3.0, "width": 32, "height": 32}


@pytest.fixture(scope="module")
def sd():
    from tests.tiny_hub import stable_diffusion

    pipe = stable_diffusion("sd2")
    pipe.set_progress_bar_config(disable=True)
    return pipe


def draw(pipe, prompts, run_settings, seeds, **extra):
    return pipe(
        prompt=prompts,
        num_inference_steps=run_settings["steps"],
        guidance_scale=run_settings["guidance"],
        width=run_settings["width"],
        height=run_settings["height"],
        generator=[torch.Generator().manual_seed(s) for s in seeds],
        **extra,
    ).images


def explained(pipe, prompts, run_settings, seeds):
    with explaining(pipe, prompts, run_settings) as found:
        images = draw(pipe, prompts, run_settings, seeds)
    return images, found


def recording(unet) -> bool:
    return any(isinstance(p, RecordingProcessor) for p in unet.attn_processors.values())


def test_words_merge_sub_word_tokens_and_leave_out_specials_and_punctuation(sd):
    prompt = "a zebra-like cat, on grass"  # zebra, like and grass are not whole tokens of the tiny tokenizer
    encoded = encode(sd.tokenizer, prompt)
    words = token_words(encoded["offset_mapping"], prompt)
    assert [(w, i) for w, i, _ in words] == [("a", 0), ("zebra", 1), ("like", 2), ("cat", 3), ("on", 4), ("grass", 5)]
    zebra = words[1][2]
    assert len(zebra) > 1  # several pieces, one word
    every = [t for _, _, tokens in words for t in tokens]
    specials = {i for i, t in enumerate(encoded["input_ids"]) if t in sd.tokenizer.all_special_ids}
    assert not specials & set(every) and len(set(every)) == len(every)


def test_pictures_are_unchanged_and_processors_restored(sd):
    before = dict(sd.unet.attn_processors)
    plain = draw(sd, TWO, TINY_RUN, [1, 2])
    images, found = explained(sd, TWO, TINY_RUN, [1, 2])
    assert sd.unet.attn_processors == before and not recording(sd.unet)
    for a, b in zip(plain, images):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert [len(words) for words in found] == [len(p.replace(",", "").split()) for p in TWO]
    for words in found:
        for w in words:
            assert w.map.shape == (32, 32) and w.map.min() == 0 and w.map.max() == pytest.approx(1)


def test_each_row_of_a_batch_gets_its_own_maps_with_guidance(sd):
    """With classifier-free guidance the UNet's batch is [unconditional, conditional]: the maps come from
    the conditional rows (the unconditional ones are alike for every prompt), each from its own row."""
    _, together = explained(sd, TWO, TINY_RUN, [1, 2])
    for i, prompt in enumerate(TWO):
        _, alone = explained(sd, [prompt], TINY_RUN, [i + 1])
        for a, b in zip(alone[0], together[i]):
            assert (a.word, a.index) == (b.word, b.index)
            assert np.allclose(a.map, b.map, atol=1e-4)
    first = {w.word: w.map for w in together[0]}
    second = {w.word: w.map for w in together[1]}
    assert not np.allclose(first["a"], second["a"], atol=1e-3)  # the same word, another prompt, another map


def test_with_guidance_only_the_conditional_half_counts(sd):
    name = next(n for n in sd.unet.attn_processors if n.endswith("attn2.processor"))
    attn = sd.unet.get_submodule(name.removesuffix(".processor"))
    torch.manual_seed(0)
    hidden, context = torch.randn(2, 16, attn.to_q.in_features), torch.randn(2, 77, attn.to_k.in_features)
    with_guidance, alone = Recorder(1, (4, 4), 1), Recorder(1, (4, 4), 1)
    with_guidance.add(name, attn, hidden, context)  # rows [unconditional, conditional]
    alone.add(name, attn, hidden[1:], context[1:])
    assert torch.equal(with_guidance.sums[(4, 4)], alone.sums[(4, 4)])


def test_processors_come_back_after_an_error_and_after_stop(sd):
    with pytest.raises(ValueError):
        with explaining(sd, TWO[:1], TINY_RUN):
            assert recording(sd.unet)
            raise ValueError("the run failed")
    assert not recording(sd.unet)

    def stop_at_once(pipe, step, timestep, tensors):
        pipe._interrupt = True
        return tensors

    with explaining(sd, TWO[:1], TINY_RUN) as found:
        draw(sd, TWO[:1], TINY_RUN, [1], callback_on_step_end=stop_at_once)
    assert not recording(sd.unet) and len(found) == 1


def test_another_thread_drawing_meanwhile_is_not_recorded(sd):
    recorder = Recorder(1, (4, 4), 2)
    with capture(sd.unet, recorder):
        thread = threading.Thread(target=draw, args=(sd, TWO, TINY_RUN, [1, 2]))
        thread.start()
        thread.join()
    assert recorder.sums == {}


def test_sdxl_has_maps_too():
    from tests.tiny_hub import stable_diffusion_xl

    pipe = stable_diffusion_xl()
    pipe.set_progress_bar_config(disable=True)
    run_settings = {"steps": 1, "guidance": 0.0, "width": 32, "height": 32}
    _, found = explained(pipe, ["a red cat"], run_settings, [0])
    assert [w.word for w in found[0]] == ["a", "red", "cat"]
    assert all(np.isfinite(w.map).all() and w.map.max() == pytest.approx(1) for w in found[0])


def test_shape_and_colour_maps_lie_on_their_objects_on_the_starter(cache):
    hits = {}
    for i, prompt in enumerate(TWO):
        picture = run(cache, GenerateRequest(prompt, model=MODEL, expand_with=NONE, seed=i, explain=True)).pictures[0]
        for kind, found in word_hits(prompt, picture.image, picture.words).items():
            hits.setdefault(kind, []).extend(found)
    assert len(hits["colour"]) == len(hits["shape"]) == 4
    assert all(hits["colour"] + hits["shape"] + hits["background colour"]), hits


def test_hottest_is_the_top_five_percent_of_the_png():
    values = np.zeros((64, 64), np.float32)
    values[:10, :21] = 1.0  # 210 pixels, just over 5 % of 4096
    hot = hottest(WordMap("red", 2, values))
    assert hot.sum() == 210 and hot[:10, :21].all()


def test_explained_requests_batched_together_keep_their_own_maps(cache):
    entry = cache.registry.get(MODEL)
    run_settings = settings(entry)
    alone = []
    for i, prompt in enumerate(TWO):
        words: list = []
        Batcher(cache).draw(entry, [prompt], "", run_settings, [i], words=words)
        alone.append(words[0])
    batcher = Batcher(cache, max_wait=0.3)
    start = threading.Barrier(len(TWO))

    def one(i):
        start.wait()
        words: list = []
        batcher.draw(entry, [TWO[i]], "", run_settings, [i], words=words)
        return words[0]

    with ThreadPoolExecutor(len(TWO)) as pool:
        together = list(pool.map(one, range(len(TWO))))
    assert batcher.batch_sizes == [2]
    for a, b in zip(alone, together):
        assert [w.word for w in a] == [w.word for w in b]
        assert all(np.allclose(x.map, y.map, atol=0.02) for x, y in zip(a, b))


def test_a_stopped_explained_run_says_so_and_restores_the_model(cache):
    entry = cache.registry.get(MODEL)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        Batcher(cache).draw(entry, [TWO[0]], "", settings(entry, steps=8), [0], RunControl(cancel=cancel), words=[])
    with cache.use(MODEL) as pipe:
        assert not recording(pipe.unet)


def test_cli_writes_picture_maps_and_rows_and_the_png_explains_the_same(registry_path, tmp_path):
    cli = lambda *args: main(["--registry", str(registry_path), *args])  # noqa: E731
    assert cli("explain", "--model", MODEL, "--seed", "5", "--out", str(tmp_path / "a"), TWO[0]) == 0
    rows = [json.loads(line) for line in (tmp_path / "a" / "words.jsonl").read_text().splitlines()]
    assert [r["word"] for r in rows] == TWO[0].replace(",", "").split()
    assert [r["index"] for r in rows] == list(range(len(rows)))
    assert {r["prompt"] for r in rows} == {TWO[0]} and {r["image"] for r in rows} == {"0000.png"}
    for r in rows:
        with Image.open(tmp_path / "a" / r["map"]) as m:
            assert m.mode == "L" and m.size == (64, 64)
    assert cli("explain", "--out", str(tmp_path / "b"), "--png", str(tmp_path / "a" / "0000.png")) == 0
    again = [json.loads(line) for line in (tmp_path / "b" / "words.jsonl").read_text().splitlines()]
    assert [(r["word"], r["index"]) for r in again] == [(r["word"], r["index"]) for r in rows]
    for a, b in zip(rows, again):
        assert np.array_equal(
            np.asarray(Image.open(tmp_path / "a" / a["map"])), np.asarray(Image.open(tmp_path / "b" / b["map"]))
        )
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "a" / "0000.png")), np.asarray(Image.open(tmp_path / "b" / "0000.png"))
    )


def test_cli_refuses_a_png_without_settings_in_one_sentence(registry_path, tmp_path, capsys):
    Image.new("RGB", (64, 64)).save(tmp_path / "plain.png")
    assert (
        main(
            ["--registry", str(registry_path), "explain", "--out", str(tmp_path), "--png", str(tmp_path / "plain.png")]
        )
        == 2
    )
    assert "carries no generation settings" in capsys.readouterr().err


def test_receipt_rows_link_to_the_word_they_concern():
    words = [
        WordMap(w, i, np.zeros((2, 2))) for i, w in enumerate("a small red circle and a small blue circle".split())
    ]
    assert word_for_row({"attribute": "object2.shape", "wanted": "circle"}, words) == 8
    assert word_for_row({"attribute": "object1.shape", "wanted": "circle"}, words) == 3
    assert word_for_row({"attribute": "object2.colour", "wanted": "blue"}, words) == 7
    assert word_for_row({"attribute": "cat present", "wanted": "yes"}, words) is None
    assert word_for_row({"attribute": "circle present", "wanted": "yes"}, words) == 3
