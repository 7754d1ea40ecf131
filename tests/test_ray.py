"""The Ray backend end to end on the starter zoo, in one small local Ray (2 CPUs) for the module.

Needs the optional extra (pip install -r requirements-ray.txt), which .ci/run installs."""

import json
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import ray  # noqa: E402  (requirements-dev.txt installs the Ray extra: without it this file fails, loudly)
from PIL import Image

from pipelines.backend import LocalBackend  # noqa: E402
from pipelines.core.control import RunControl  # noqa: E402
from pipelines.core.results import GenerateRequest  # noqa: E402
from serving.batching import groups, prepare, run_jobs  # noqa: E402
from serving.config import InvalidServingConfig, load_config  # noqa: E402
from zoo.errors import AtelierError, BadInput, Cancelled  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DIFFUSION = "starter/shapes-diffusion"


@pytest.fixture(scope="module")
def backend(registry):
    from ray import serve

    from serving.ray_backend import RayBackend

    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}}
    )
    ray_backend = RayBackend(registry)  # a Registry (the app passes its own, with the defaults it chose)
    yield ray_backend
    ray_backend.shutdown()
    serve.shutdown()
    ray.shutdown()


@pytest.fixture(scope="module")
def local(cache):
    return LocalBackend(cache)


def same_pictures(a, b) -> bool:
    return len(a.images) == len(b.images) and all(
        np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a.images, b.images)
    )


def test_generate_equals_the_in_process_backend(backend, local):
    for job in (
        GenerateRequest("big red ball on the left", seed=7),  # expanded by the prompter first
        GenerateRequest(
            "a small blue square at the top on a white background, flat style",
            seed=11,
            num_images=2,
            steps=6,
            guidance=2.0,
        ),
    ):
        remote, alone = backend.generate(job), local.generate(job)
        assert remote.used_prompt == alone.used_prompt
        assert remote.parameters == alone.parameters
        assert same_pictures(remote, alone)
        receipts = [p.receipt for p in remote.pictures]  # plain pictures carry their receipts from the replica
        assert all(receipts) and receipts == [p.receipt for p in alone.pictures]


def test_edits_and_the_zoo_tab_run_through_the_ray_backend(backend, local):
    """The Edit tab's three calls and the Zoo tab's listing go to the replicas, not this process's cache."""
    picture = local.generate(
        GenerateRequest("a large red circle on the left on a white background, flat style", seed=3)
    ).images[0]
    loads = local.cache.loads
    remote = backend.edit(picture, "make the circle blue", DIFFUSION, seed=2)
    mask = Image.new("L", picture.size, 0)
    mask.paste(255, (0, 0, 32, 32))
    assert backend.inpaint(picture, mask, "a blue square", DIFFUSION, seed=1).image.size == picture.size
    assert backend.outpaint(picture, "right", "a green cross", DIFFUSION, seed=1).image.size == (128, 64)
    with pytest.raises(BadInput, match="There is no"):
        backend.edit(picture, "make the triangle blue", DIFFUSION, seed=2)
    assert local.cache.loads == loads  # nothing loaded in this process for them
    alone = local.edit(picture, "make the circle blue", DIFFUSION, seed=2)
    assert remote.used_prompt == alone.used_prompt and np.array_equal(np.asarray(remote.image), np.asarray(alone.image))
    states = backend.model_states()
    assert states[DIFFUSION] == "deployed on Ray" and DIFFUSION in backend.loaded()


def test_a_chat_turn_runs_in_a_replica(backend, local):
    from pipelines.tasks.chat import Conversation

    loads = local.cache.loads
    remote, _ = backend.chat(
        Conversation(), "a large red circle in the center on a white background, flat style", DIFFUSION, 3
    )
    remote, row = backend.chat(remote, "make it green", DIFFUSION, 3)
    assert local.cache.loads == loads and row["action"] == "change" and len(remote.pictures) == 2
    alone, _ = local.chat(
        Conversation(), "a large red circle in the center on a white background, flat style", DIFFUSION, 3
    )
    alone, _ = local.chat(alone, "make it green", DIFFUSION, 3)
    assert all(
        np.array_equal(np.asarray(a.image), np.asarray(b.image)) for a, b in zip(remote.pictures, alone.pictures)
    )


def test_caption_expand_and_errors(backend, local):
    picture = local.generate(
        GenerateRequest("a large red circle on the left on a white background, flat style", seed=3)
    ).images[0]
    assert backend.caption([picture]) == local.caption([picture])
    assert backend.expand("tiny blue box up top", seed=3) == local.expand("tiny blue box up top", seed=3)
    with pytest.raises(BadInput, match="empty"):
        backend.generate(GenerateRequest("  ", seed=1))


def test_progress_previews_and_stop_cross_the_process_boundary(backend):
    steps, previews = [], []
    backend.generate(
        GenerateRequest("big red ball on the left", seed=1, steps=8),  # 8 steps: previews (a 4-step one has none)
        RunControl(lambda done, total: steps.append((done, total)), preview=previews.append),
    )
    assert steps[-1] == (8, 8) and all(1 <= done <= 8 for done, _ in steps)  # streamed from the replica
    assert previews and all(len(p) == 1 and isinstance(p[0], Image.Image) for p in previews)
    stop = threading.Event()
    with pytest.raises(Cancelled):
        backend.generate(
            GenerateRequest("big red ball on the left", seed=2, steps=60),
            RunControl(lambda done, total: done >= 2 and stop.set(), stop),
        )


def test_eight_concurrent_clients(backend, local):
    jobs = [GenerateRequest("big red ball on the left", seed=100 + i, steps=2 + i % 3) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(backend.generate, job) for job in jobs]
        results = [f.result(timeout=120) for f in futures]  # any error is raised here
    for job, result in zip(jobs, results):
        assert same_pictures(result, local.generate(job))


def test_sharing_a_draw_groups_only_compatible_jobs(cache):
    """The claim behind share_draws: picture i depends only on prompt i and seed i. Measured: on CPU the
    pictures match the lone request's to within 1/255 (BLAS kernels depend on the batch size)."""
    jobs = [
        GenerateRequest(p, seed=s, expand_with="none")
        for p, s in [
            ("a large red circle on the left on a white background, flat style", 5),
            ("a small blue square at the top on a white background, flat style", 6),
            ("a large red circle on the left on a white background, flat style", 7),
        ]
    ]
    jobs.append(GenerateRequest(jobs[0].prompt, seed=5, steps=3, expand_with="none"))  # other steps: its own call
    assert groups({i: prepare(cache, job) for i, job in enumerate(jobs)}) == [[0, 1, 2], [3]]
    shared, alone = run_jobs(cache, jobs, share_draws=True), run_jobs(cache, jobs, share_draws=False)
    for s, a in zip(shared, alone):
        assert s.parameters == a.parameters and s.used_prompt == a.used_prompt
        diff = np.abs(np.asarray(s.images[0]).astype(int) - np.asarray(a.images[0]).astype(int))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.05
    assert same_pictures(shared[3], alone[3])  # drawn alone either way


def test_config_is_checked(tmp_path, registry):
    bad = tmp_path / "ray.toml"
    bad.write_text('[models."starter/shapes-diffusion"]\nreplicas = 0\n')
    with pytest.raises(InvalidServingConfig, match="replicas must be a whole number above 0"):
        load_config(bad, registry)
    bad.write_text('[models."nobody/nothing"]\nreplicas = 1\n')
    with pytest.raises(InvalidServingConfig, match="not in the zoo"):
        load_config(bad, registry)
    bad.write_text("[defaults]\nautoscaling = { min_replicas = 3, max_replicas = 2 }\n")
    with pytest.raises(InvalidServingConfig, match="min_replicas is above max_replicas"):
        load_config(bad, registry)
    placement = load_config(registry=registry).placement(DIFFUSION)
    assert placement.serve_options()["num_replicas"] >= 1


def test_a_replica_the_machine_cannot_hold_is_refused(backend, registry_path, tmp_path):
    from serving.ray_backend import RayBackend

    config = tmp_path / "ray.toml"
    config.write_text('[models."stabilityai/sd-turbo"]\ngpus = 1000\n')
    with pytest.raises(InvalidServingConfig, match="replica 1000 GPUs, but this machine has"):
        RayBackend(registry_path, config=config, warm=False).handle("stabilityai/sd-turbo")


def test_ray_data_cli_matches_the_local_path(backend, tmp_path):
    from cli import main

    prompts = tmp_path / "prompts.txt"
    prompts.write_text(
        "big red ball on the left\ntiny blue box up top\n"
        "a green triangle on the right\ntwo red balls\na purple cross at the bottom\n"
    )
    assert main(["generate", "--prompts", str(prompts), "--seed", "4", "--out", str(tmp_path / "local")]) == 0
    assert main(["generate", "--prompts", str(prompts), "--seed", "4", "--out", str(tmp_path / "ray"), "--ray"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "ray" / "results.jsonl").read_text().splitlines()]
    assert [r["prompt"] for r in rows] == prompts.read_text().splitlines()
    assert [r["seed"] for r in rows] == [4 + 1000 * i for i in range(5)]
    assert (tmp_path / "ray" / "results.jsonl").read_text() == (tmp_path / "local" / "results.jsonl").read_text()
    for row in rows:  # same pixels and the same parameters chunk: the very same file
        assert (tmp_path / "ray" / row["image"]).read_bytes() == (tmp_path / "local" / row["image"]).read_bytes()


def test_a_killed_replica_is_replaced_and_its_request_retried(backend, local):
    handle = backend.handle(DIFFUSION)
    victim = handle.pid.remote().result()
    job = GenerateRequest("big red ball on the left", seed=21, steps=30, num_images=2)
    answers, drawing = [], threading.Event()
    client = threading.Thread(
        target=lambda: answers.append(backend.generate(job, RunControl(lambda *_: drawing.set())))
    )
    client.start()
    assert drawing.wait(timeout=60)  # a step was drawn: the request is on the replica
    os.kill(victim, signal.SIGKILL)
    client.join(timeout=120)
    assert backend.resent == 1  # the request was on the dying replica, and was sent once more
    assert len(answers) == 1  # answered once
    assert handle.pid.remote().result() != victim  # a new replica
    assert same_pictures(answers[0], local.generate(job))


def test_explained_requests_carry_their_own_maps_across_the_process_boundary(backend, local):
    job = GenerateRequest("a large red circle on the left and a small blue cross on the right on a gray background, "
                          "flat style", seed=3, num_images=2, explain=True)  # fmt: skip
    remote, alone = backend.generate(job), local.generate(job)
    assert same_pictures(remote, alone)
    for r, a in zip(remote.pictures, alone.pictures):
        assert [(w.word, w.index) for w in r.words] == [(w.word, w.index) for w in a.words]
        assert all(np.allclose(x.map, y.map, atol=1e-5) for x, y in zip(r.words, a.words))


def test_a_shared_draw_leaves_explained_requests_their_maps(cache):
    jobs = [GenerateRequest(CIRCLE, seed=5, expand_with="none"), GenerateRequest(CIRCLE, seed=6, expand_with="none",
                                                                                  explain=True)]  # fmt: skip
    plain, explained = run_jobs(cache, jobs, share_draws=True)
    assert plain.pictures[0].words is None and [w.word for w in explained.pictures[0].words][:3] == [
        "a",
        "large",
        "red",
    ]


CIRCLE = "a large red circle on the left on a white background, flat style"


def test_an_adapter_trained_after_the_start_is_listed_and_drawn_on_ray(backend, registry):
    """The Train tab's adapter lands in the data folder after the replicas started: Generate lists it (the
    front's registry) and the replica, asked for it, reads the folder again and draws what this process does."""
    from tests.test_adapters import random_adapter
    from ui.generate import adapter_choices
    from ui.studio import Studio
    from ui.train import register_trained
    from zoo.adapters import trained_entries, trained_folder
    from zoo.cache import ModelCache

    job = GenerateRequest(CIRCLE, seed=4, expand_with="none", lora="trained/ray-late")
    backend.generate(replace(job, lora=None))  # the replica is up before the adapter exists
    folder = random_adapter(trained_folder() / "ray-late" / "adapter", seed=3)
    (folder / "training_config.json").write_text(json.dumps({"base": DIFFUSION}))
    studio = Studio(ModelCache(registry, device="cpu"), backend)
    register_trained(studio)  # what the Train tab does when its run ends
    assert "trained/ray-late" in adapter_choices(studio, DIFFUSION)
    remote = backend.generate(job)
    local = LocalBackend(ModelCache(registry.with_entries(trained_entries(trained_folder())), device="cpu"))
    assert remote.parameters[0]["lora"] == "trained/ray-late" and same_pictures(remote, local.generate(job))
    assert not same_pictures(remote, local.generate(replace(job, lora=None)))  # the adapter was on
    for unknown in ("trained/nobody", "trained/../../etc/passwd"):  # looked up among the folders, never opened
        with pytest.raises(AtelierError, match="no model|not a model id"):
            backend.generate(replace(job, lora=unknown))
