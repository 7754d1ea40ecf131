"""RayBackend: the Backend of pipelines/backend.py with every model in a Ray Serve deployment.

    backend = RayBackend("zoo/registry.toml")                         # a local Ray sized to this machine
    backend = RayBackend(cache.registry, address="HEAD:6379")  # or $RAY_ADDRESS: join a cluster
    backend.generate(GenerateRequest("big red ball on the left", seed=7))
    backend.shutdown()

Each model gets its own Serve application the first time it is asked for (or finds the one
another front end on the cluster already deployed), placed as serving/ray.toml says. A request
whose replica dies under it is sent again (the answer depends only on the request and its seed,
so a retry gives the same pictures), up to the model's `retries`; each call returns once.
Progress and previews: generate, stylize and the edits stream every diffusion step (and generate the preview
pictures pipelines/previews.py makes) back from the replica; a retried request starts counting
again. Stop is seen at the next step and cancels the request on the replica, which stops its
drawing there (a draw shared with other requests under share_draws finishes for them).
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace
from pathlib import Path

from pipelines.backend import NOT_LOADED, UNLOADED, decoded
from pipelines.core import inputs
from pipelines.core.control import CANCELLED, RunControl
from pipelines.core.results import GenerateRequest, Generation, Stylized
from pipelines.models import decode
from pipelines.tasks.edit import Edited
from serving.cluster import connect, registry_for_workers
from serving.config import InvalidServingConfig, load_config
from zoo import hub
from zoo.errors import AtelierError, BadInput, Cancelled, ModelUnavailable
from zoo.registry import Registry, load_registry

POLL_S = 0.05  # how often a waiting call looks at the Stop flag
TASKS = ("text-to-image", "prompt-expansion", "captioning")
STREAMED = {
    "generate",
    "stylize",
    "edit",
    "inpaint",
    "outpaint",
    "chat",
}  # replica methods that stream progress, then the answer


class RayBackend:
    """Backend on Ray Serve. `registry`: a Registry (its chosen defaults are kept) or the path of registry.toml
    (every node loads the file itself); `address`: a cluster to join (default $RAY_ADDRESS, else a local Ray);
    `config`: the placement file (default serving/ray.toml); `warm`: deploy each task's default model now
    rather than at its first request."""

    device = "ray"

    def add_entries(self, entries: list) -> None:
        """Listed for Generate's adapter choice. The replicas read their registry file when they start; one
        asked for a trained/ adapter it does not know reads the Train tab's folder again (zoo/adapters.py)."""
        self.registry = self.registry.with_entries(entries)

    def __init__(
        self,
        registry: Registry | Path | str,
        address: str | None = None,
        config: Path | str | None = None,
        warm: bool = True,
    ):
        self.registry = registry if isinstance(registry, Registry) else load_registry(registry)
        self.config = load_config(config, self.registry)
        self.mode = connect(address)
        from ray import serve

        self._worker_registry = registry_for_workers(self.registry.source, self.mode)
        serve.start(proxy_location="Disabled")
        self._handles: dict[str, object] = {}
        self._lock = threading.Lock()
        self.resent = 0  # requests sent again because their replica died under them
        if warm:
            self.deploy()

    # ------------------------------------------------------------ the Backend methods

    def generate(self, job: GenerateRequest, control: RunControl | None = None) -> Generation:
        entry = self.registry.pick(job.model, "text-to-image")
        job = replace(job, model=entry.id)  # the defaults chosen here (Registry.with_defaults) hold in the replica
        previews = control is not None and control.preview is not None
        return self._ask(entry.id, "text-to-image", "generate", (job, previews), control)

    def decode_full(self, keys: list) -> Generation:
        """Fast pictures decoded in full by the replica that keeps their latents (the key names its model)."""
        models = {decode.model_of(key) for key in keys}
        if len(models) != 1:
            raise BadInput("Decode in full takes the pictures of one answer at a time.")
        images, parameters = self._ask(models.pop(), "text-to-image", "decode_full", (keys,))
        return decoded(images, parameters)

    def stylize(self, image, style, model_id=None, strength=None, seed=None, control=None) -> Stylized:
        entry = self.registry.pick(model_id, "text-to-image")
        picture = inputs.image(image)  # a path on this machine means nothing to a replica elsewhere
        return self._ask(entry.id, "text-to-image", "stylize", (picture, style, entry.id, strength, seed), control)

    def edit(self, image, instruction, model_id=None, seed=None, steps=None, verify=None, control=None) -> Edited:
        entry = self.registry.pick(model_id, "text-to-image")
        args = (inputs.image(image), instruction, entry.id, seed, steps, verify)
        return self._ask(entry.id, "text-to-image", "edit", args, control)

    def inpaint(self, image, mask, prompt, model_id=None, seed=None, control=None) -> Edited:
        entry = self.registry.pick(model_id, "text-to-image")
        mask = None if mask is None else inputs.image(mask)
        args = (inputs.image(image), mask, prompt, entry.id, seed)
        return self._ask(entry.id, "text-to-image", "inpaint", args, control)

    def outpaint(self, image, side, prompt, model_id=None, seed=None, control=None) -> Edited:
        entry = self.registry.pick(model_id, "text-to-image")
        return self._ask(
            entry.id, "text-to-image", "outpaint", (inputs.image(image), side, prompt, entry.id, seed), control
        )

    def chat(self, conversation, message, model_id=None, seed=None, control=None):
        entry = self.registry.pick(model_id, "text-to-image")
        return self._ask(entry.id, "text-to-image", "chat", (conversation, message, entry.id, seed), control)

    def caption(self, pictures, model_id: str | None = None) -> list[str]:
        entry = self.registry.pick(model_id, "captioning")
        batch = pictures if isinstance(pictures, (list, tuple)) else [pictures]
        return self._ask(entry.id, "captioning", "caption", ([inputs.image(p) for p in batch], entry.id))

    def expand(self, request: str, model_id: str | None = None, seed: int | None = None) -> str:
        entry = self.registry.pick(model_id, "prompt-expansion")
        return self._ask(entry.id, "prompt-expansion", "expand", (request, entry.id, seed))

    # ------------------------------------------------------------ the Zoo tab

    def where(self) -> str:
        return (
            f"Models run in **Ray Serve** replicas ({self.mode} Ray), placed as {self.config.source.name} says; "
            "each replica holds its own memory-budgeted cache and deploys on first use."
        )

    def model_states(self) -> dict[str, str]:
        deployed = set(self._handles)
        return {e.id: "deployed on Ray" if e.id in deployed else hub.state(e) for e in self.registry.entries.values()}

    def loaded(self) -> list[str]:
        return list(self._handles)

    def load(self, model_id: str) -> None:
        entry = self.registry.get(model_id)
        if entry.task not in TASKS:
            raise AtelierError(f"On Ray, '{model_id}' loads inside the replicas that use it; it is not deployed alone.")
        self.handle(model_id)

    def unload(self, model_id: str) -> str:
        from ray import serve

        from serving.deployments import app_name

        self.registry.get(model_id)
        with self._lock:
            if self._handles.pop(model_id, None) is None:
                return NOT_LOADED
        serve.delete(app_name(model_id))
        return UNLOADED

    # ------------------------------------------------------------ deployments

    def handle(self, model_id: str):
        """The model's Serve handle, deploying its application on first use."""
        if model_id not in self._handles:
            self.deploy([model_id])
        return self._handles[model_id]

    def deploy(self, model_ids: list[str] | None = None) -> None:
        """Deploys the models' applications in one go (default: each task's default model), or takes
        the handles of those another front end on the cluster deployed already."""
        from ray import serve
        from ray.serve.api import RunTarget  # ray 2.60: serve.run_many deploys several apps at once
        from ray.serve.exceptions import RayServeException

        from serving.deployments import app_name, application

        ids = model_ids or [self.registry.default(task).id for task in TASKS]
        with self._lock:
            missing = []
            for model_id in dict.fromkeys(ids):
                if model_id in self._handles:
                    continue
                try:
                    self._handles[model_id] = serve.get_app_handle(app_name(model_id))
                except RayServeException:
                    missing.append(model_id)
            for model_id in missing:
                self._check_fits(model_id)
            targets = [
                RunTarget(
                    target=application(self.registry.get(m).task, m, self._worker_registry, self.config.placement(m)),
                    name=app_name(m),
                    route_prefix=None,
                )
                for m in missing
            ]
            for model_id, handle in zip(missing, serve.run_many(targets) if targets else []):
                self._handles[model_id] = handle

    def _check_fits(self, model_id: str) -> None:
        """A replica that no node can hold would wait forever: say so (a local Ray has no autoscaler)."""
        import ray

        placement = self.config.placement(model_id)
        if self.mode == "joined":
            return  # a cluster's autoscaler may add the nodes
        have = ray.cluster_resources()
        for resource, need in (("CPU", placement.cpus), ("GPU", placement.gpus)):
            if need > have.get(resource, 0):
                where = f"{self.config.source} gives each '{model_id}' replica {need:g} {resource}s"
                raise InvalidServingConfig(f"{where}, but this machine has {have.get(resource, 0):g}.")

    def shutdown(self, delete_deployments: bool | None = None) -> None:
        """Deletes this backend's deployments (by default only when it started Ray itself) and leaves Ray
        (stopping it when started here). On a joined cluster the deployments stay for other front ends."""
        import ray
        from ray import serve

        from serving.deployments import app_name

        if delete_deployments if delete_deployments is not None else self.mode == "started":
            for model_id in list(self._handles):
                serve.delete(app_name(model_id))
        self._handles.clear()
        if self.mode == "started":
            serve.shutdown()
        if self.mode != "attached":
            ray.shutdown()

    # ------------------------------------------------------------ one call

    def _ask(self, model_id: str, task: str, method: str, args: tuple, control: RunControl | None = None):
        from ray.exceptions import RayActorError

        if self.registry.get(model_id).task != task:
            raise AtelierError(f"'{model_id}' is not a {task} model.")
        retries = self.config.placement(model_id).retries
        control = control or RunControl()
        for attempt in itertools.count():
            control.check()
            call = getattr(self.handle(model_id), method)
            try:
                if method in STREAMED:
                    result = _follow(call.options(stream=True).remote(*args), control)
                else:
                    result = _wait(call.remote(*args), control.cancel)
            except RayActorError as e:  # the replica died under the request; Serve is starting another
                if attempt >= retries:
                    raise ModelUnavailable(
                        f"The replicas of '{model_id}' kept failing ({type(e).__name__}); try again in a minute."
                    ) from None
                self.resent += 1
                time.sleep(min(2.0, 0.2 * 2**attempt))
                continue
            if isinstance(result, AtelierError):
                raise result
            return result


def _wait(response, cancel: threading.Event):
    while True:
        if cancel.is_set():
            response.cancel()
            raise Cancelled(CANCELLED)
        try:
            return response.result(timeout_s=POLL_S)
        except TimeoutError:
            continue


def _follow(stream, control: RunControl):
    """Hands ("update", step, preview) items to the control until ("done", answer, last step) comes."""
    for item in stream:
        if control.cancelled():
            stream.cancel()
            raise Cancelled(CANCELLED)
        if item is None:  # news for another request of the same batch
            continue
        if item[0] == "done":
            if item[2] is not None:
                control.step(*item[2])
            return item[1]
        _, step, pictures = item
        if step is not None:
            control.step(*step)
        if pictures is not None:
            control.show(pictures)
    raise ModelUnavailable("The model's replica stopped without an answer; try again.")
