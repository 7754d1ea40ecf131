"""Atelier's launcher: flags, build the UI, launch. The UI lives in ui/, the work in pipelines/.

    python app.py [--host 127.0.0.1] [--port 7860] [--share] [--offline] [--auth USER:PASSWORD] ...

Every tab is also an API endpoint: /generate (prompt, ...), /stylize (image, style, ...),
/caption (image, ...) and /expand (prompt, ...); `Client(url).view_api()` lists their parameters.
"""

from __future__ import annotations

import os

# no usage reports to Hugging Face or Gradio from a studio that strangers use: set before either is imported
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from pipelines.feedback.store import FeedbackStore  # noqa: E402
from ui.startup import go_offline, make_backend, parse_auth, preload_defaults, startup_summary  # noqa: E402
from zoo import defaults, hub  # noqa: E402
from zoo.cache import ModelCache  # noqa: E402
from zoo.errors import AtelierError  # noqa: E402
from zoo.registry import DEFAULT_REGISTRY, load_registry  # noqa: E402

ASSETS = Path(__file__).resolve().parent / "assets"
AUTH_VARIABLE = "ATELIER_AUTH"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python app.py", description="Atelier: the browser studio and its API.")
    # a Hugging Face Space sets GRADIO_SERVER_NAME=0.0.0.0: honour it, or the Space cannot reach the app
    p.add_argument(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        help="interface to listen on (0.0.0.0: every interface; default 127.0.0.1)",
    )
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    p.add_argument("--share", action="store_true", help="also open a public Gradio share link (it expires)")
    p.add_argument("--offline", action="store_true", help="never touch the network; serve the starter zoo")
    p.add_argument("--registry", default=str(DEFAULT_REGISTRY), help="the model registry (default: zoo/registry.toml)")
    p.add_argument(
        "--memory-budget",
        type=float,
        metavar="GB",
        help="memory the loaded models may hold (default: most of the free GPU memory, or half the free system memory)",
    )
    p.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        default=os.environ.get(AUTH_VARIABLE),
        help=f"a login in front of the app (default: ${AUTH_VARIABLE}, if set)",
    )
    p.add_argument("--max-file-size", default="20mb", help="largest upload accepted, e.g. 5mb (default 20mb)")
    p.add_argument(
        "--no-metadata",
        action="store_true",
        help="by default, write no prompt or settings into the PNGs (each request may still ask)",
    )
    p.add_argument("--no-mcp", action="store_true", help="do not serve the API as MCP tools")
    p.add_argument(
        "--trust-proxy",
        action="store_true",
        default=bool(os.environ.get("SPACE_ID")),  # a Space is always behind Hugging Face's proxy
        help="behind a reverse proxy: count people by the address it appends to X-Forwarded-For "
        "(default: on a Space only; never set it when clients can reach the app directly)",
    )
    p.add_argument("--default-model", metavar="ID", help="the text-to-image model the app starts with")
    p.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="where models run: in this process (default) or in Ray Serve deployments",
    )
    p.add_argument(
        "--ray-address",
        default=os.environ.get("RAY_ADDRESS"),
        help="with --backend ray: the cluster to join (default: $RAY_ADDRESS, else a local Ray)",
    )
    p.add_argument(
        "--feedback-db",
        metavar="URL",
        help="where ratings are kept: a SQLAlchemy URL, e.g. postgresql+psycopg://host/atelier for several "
        "replicas (default: $ATELIER_FEEDBACK_DB, else SQLite in the user's data folder)",
    )
    p.add_argument("--no-feedback", action="store_true", help="no ratings: keep nothing about the pictures")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per HTTP request otherwise
    if args.offline or (not hub.offline() and not hub.reachable()):
        go_offline()
        reason = "" if args.offline else "The Hugging Face Hub cannot be reached. "
        print(
            f"{reason}Offline: serving the starter zoo (and hub models already in the local cache); "
            "nothing is downloaded."
        )
    from ui import ServeLimits, build_app, launch_options
    from ui.jobs import on_zero_gpu_space
    from ui.studio import Studio

    # ZeroGPU: the GPU cannot be queried outside spaces.GPU; a slice has about 70 GB
    budget = 40.0 if args.memory_budget is None and on_zero_gpu_space() else args.memory_budget
    try:
        auth = parse_auth(args.auth)
        cache = ModelCache(load_registry(args.registry), budget_gb=budget)
        choice = defaults.choose(
            cache.registry, cache.device, cache.budget_bytes / 2**30, not hub.offline(), args.default_model
        )
        cache.registry = cache.registry.with_defaults(choice.models)
        backend = make_backend(args, cache)
        ratings = None if args.no_feedback else FeedbackStore(args.feedback_db)
    except AtelierError as e:
        sys.exit(f"atelier: {e}")
    print(startup_summary(cache) + f"\nDefaults: {choice.reason}.", flush=True)
    print(f"Ratings: kept in {ratings.location}." if ratings else "Ratings: off (--no-feedback).", flush=True)
    if on_zero_gpu_space():
        preload_defaults(cache)
    if args.share:
        print("The share link is public: anyone with it can use this app until it expires.")
    studio = Studio(
        cache, backend, embed_parameters=not args.no_metadata, defaults_reason=choice.reason, feedback=ratings
    )
    limits = ServeLimits(max_file_size=args.max_file_size, trust_proxy=args.trust_proxy, share=args.share)
    demo = build_app(studio, limits)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        **launch_options(demo, auth, mcp=not args.no_mcp, limits=limits),
    )


if __name__ == "__main__":
    main()
