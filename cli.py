"""python cli.py generate|stylize|edit|caption|expand|evaluate [--ray]: the command line of `python -m pipelines`,
with --ray (prompts as a Ray dataset drawn by model actors, serving/ray_batch.py) plugged in. It sits beside
app.py because Ray lives in serving/, above pipelines/."""

from __future__ import annotations

import sys

from pipelines.__main__ import main as pipelines_main


def main(argv: list[str] | None = None) -> int:
    from serving import ray_batch  # Ray itself is imported only when --ray runs

    return pipelines_main(argv, ray_runner=ray_batch)


if __name__ == "__main__":
    sys.exit(main())
