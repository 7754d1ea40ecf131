"""python -m pipelines generate|explain|stylize|edit|chat|caption|expand|evaluate|feedback: the pipelines from the
command line.

generate and stylize write pictures (with their parameters in the PNG) and results.jsonl into
--out; caption and expand print one JSON line per input. Errors print one sentence and exit 2; edit
goes on past a picture that cannot take the edit, says why, and exits 1 when any was refused.
--ray (Ray Data) needs serving/, which sits above pipelines/: run it as `python cli.py ... --ray`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm.auto import tqdm

from pipelines.core.metadata import save_png
from pipelines.feedback.cli import add_feedback_commands
from zoo.errors import AtelierError, BadInput

NO_RAY = "--ray runs from the top-level command line: python cli.py {command} ... --ray"


def _cache(args):
    from zoo.cache import ModelCache
    from zoo.registry import load_registry

    return ModelCache(load_registry(args.registry), budget_gb=args.memory_budget)


def _text_file(path: str, what: str) -> str:
    """The text of a file named on the command line, or one sentence that says why it cannot be read."""
    file = Path(path)
    if not file.exists():
        raise BadInput(f"There is no {what} file at {path}.")
    if not file.is_file():
        raise BadInput(f"{path} is a folder, not a {what} file.")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text; give a {what} file of plain text.") from None
    except OSError as e:
        raise BadInput(f"{path} cannot be read ({e.strerror}); check that it is a readable {what} file.") from None


def _out_dir(args) -> Path:
    """--out, made if missing, or one sentence when it cannot be a folder."""
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out} is a file, not a folder; give a folder (it is made if missing).")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"--out {out} cannot be made ({e.strerror}); give a folder that can be written.") from None
    return out


def _pictures(args) -> list[str]:
    """Every picture argument, each checked before any work starts."""
    from pipelines.core import inputs

    for image in args.images:
        inputs.image(image)
    return args.images


def _prompts(args) -> list[str]:
    prompts = list(args.prompt)
    if args.prompts:
        text = _text_file(args.prompts, "prompts")
        prompts += [line.strip() for line in text.splitlines() if line.strip()]
    if not prompts:
        raise AtelierError("Give at least one prompt, as arguments or with --prompts FILE.")
    return prompts


def cmd_generate(args) -> None:
    from pipelines.core import inputs
    from pipelines.core.results import GenerateRequest
    from pipelines.tasks.generate import run

    if args.ray:
        return _ray(args).generate_on_ray(args, _prompts(args), _out_dir(args))
    prompts, out = _prompts(args), _out_dir(args)
    cache = _cache(args)
    lora, lora_scale = None, None
    if getattr(args, "lora", None):
        from pipelines.core.adapters import from_argument

        cache.registry, lora, lora_scale = from_argument(cache.registry, args.lora, args.model)
    verify = getattr(args, "verify", None)
    with open(out / "results.jsonl", "w") as results:
        for index, prompt in enumerate(tqdm(prompts, desc="generate", unit="prompt")):
            job = GenerateRequest(
                prompt,
                model=args.model,
                expand_with=inputs.expander_choice(args.expand_with),
                steps=args.steps,
                guidance=None if verify else args.guidance,
                seed=args.seed + index * 1000,
                verify=verify or None,
                rounds=args.rounds,
                lora=lora,
                lora_scale=lora_scale,
                decode=args.decode,
            )
            result = run(cache, job)
            picture = result.pictures[0]
            name = f"{index:04d}.png"
            save_png(picture.image, out / name, picture.parameters, receipt=picture.receipt)
            row = {
                "prompt": prompt,
                "used_prompt": result.used_prompt,
                "seed": picture.parameters["seed"],
                "image": name,
                "receipt": picture.receipt,
            }
            results.write(json.dumps(row | result.checks(), ensure_ascii=False) + "\n")
            results.flush()


def _ray(args):
    """The Ray Data runner the top-level CLI handed in, or one sentence saying where --ray runs."""
    if args.ray_runner is None:
        raise AtelierError(NO_RAY.format(command=args.command))
    return args.ray_runner


def cmd_explain(args) -> None:
    from pipelines.core import inputs
    from pipelines.core.results import GenerateRequest
    from pipelines.models.explain import request_from_png
    from pipelines.tasks.explain_files import write_explained
    from pipelines.tasks.generate import run

    if not args.prompt and not args.png:
        raise AtelierError("Give at least one prompt, or a PNG Atelier made with --png FILE.")
    expand_with = inputs.expander_choice(args.expand_with)
    jobs = [
        GenerateRequest(
            p, "", args.model, expand_with, args.steps, args.guidance, seed=args.seed + 1000 * i, explain=True
        )
        for i, p in enumerate(args.prompt)
    ]
    jobs += [request_from_png(png, args.model) for png in args.png]
    out, cache = _out_dir(args), _cache(args)
    with open(out / "words.jsonl", "w", encoding="utf-8") as lines:
        for index, job in enumerate(tqdm(jobs, desc="explain", unit="picture")):
            write_explained(out, run(cache, job), job.prompt, f"{index:04d}", lines)


def cmd_stylize(args) -> None:
    from pipelines.tasks.stylize import stylize

    images, out = _pictures(args), _out_dir(args)
    cache = _cache(args)
    with open(out / "results.jsonl", "w") as results:
        for index, image in enumerate(tqdm(images, desc="stylize", unit="picture")):
            result = stylize(
                cache, image, args.style, model_id=args.model, strength=args.strength, seed=args.seed + index
            )
            name = f"{index:04d}.png"
            save_png(result.image, out / name, result.parameters)
            row = {"image": image, "output": name, "used_prompt": result.used_prompt, "caption": result.caption}
            results.write(json.dumps(row) + "\n")
            results.flush()


def cmd_caption(args) -> None:
    from pipelines.tasks.caption import MAX_BATCH, caption

    images, cache = _pictures(args), _cache(args)
    for start in range(0, len(images), MAX_BATCH):
        chunk = images[start : start + MAX_BATCH]
        for image, text in zip(chunk, caption(cache, chunk, model_id=args.model)):
            print(json.dumps({"image": image, "caption": text}), flush=True)


def cmd_expand(args) -> None:
    from pipelines.models.expander import expand

    cache = _cache(args)
    for index, prompt in enumerate(args.prompt):
        print(
            json.dumps({"prompt": prompt, "expanded": expand(cache, prompt, args.model, args.seed + index)}), flush=True
        )


def cmd_evaluate(args) -> None:
    from pipelines.evaluation.evaluate import evaluate, format_table

    if args.ray:
        result = _ray(args).evaluate_on_ray(args, _prompts(args))
    else:
        result = evaluate(
            _cache(args), _prompts(args), args.model, args.verify, args.rounds, args.seed, args.steps, args.expand_with
        )
    print(format_table(result))
    if args.json:
        print(json.dumps(result))


def cmd_edit(args) -> int:
    from pipelines.core import inputs
    from pipelines.tasks.edit import edit

    inputs.prompt(args.instruction, "instruction")
    images, out = _pictures(args), _out_dir(args)
    cache = _cache(args)
    refused = 0
    with open(out / "results.jsonl", "w") as results:
        for index, image in enumerate(tqdm(images, desc="edit", unit="picture")):
            row = {"image": image, "instruction": args.instruction}
            try:
                result = edit(
                    cache,
                    image,
                    args.instruction,
                    model_id=args.model,
                    seed=args.seed + index,
                    steps=args.steps,
                    verify=args.verify,
                )
            except BadInput as e:  # this picture cannot take the edit: say why and go on
                results.write(json.dumps(row | {"error": str(e)}) + "\n")
                print(f"refused: {image}: {e}", file=sys.stderr)
                refused += 1
                continue
            name = f"{index:04d}.png"
            save_png(result.image, out / name, result.parameters)
            row |= {
                "output": name,
                "read": result.read,
                "used_prompt": result.used_prompt,
                "region": result.region,
                "seed": result.parameters["seed"],
            }
            if result.kept is not None:
                row |= {"candidates": result.candidates, "kept": result.kept}
            results.write(json.dumps(row) + "\n")
            results.flush()
    return 1 if refused else 0


def cmd_chat(args) -> None:
    from pipelines.chat_cli import run_script

    run_script(_cache(args), _text_file(args.script, "script"), _out_dir(args), args)


RAY_HELP = "draw on Ray Data model actors (pip install -r requirements-ray.txt; joins $RAY_ADDRESS if set)"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipelines", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--registry", default=Path(__file__).resolve().parent.parent / "zoo" / "registry.toml")
    p.add_argument("--memory-budget", type=float, help="GB the loaded models may hold (default: from free memory)")
    sub = p.add_subparsers(dest="command", required=True)
    add_drawing_commands(sub)
    add_reading_commands(sub)
    add_feedback_commands(sub)
    return p


def add_drawing_commands(sub) -> None:
    g = sub.add_parser("generate", help="text to image")
    g.add_argument("prompt", nargs="*")
    g.add_argument("--prompts", help="a file with one prompt per line")
    g.add_argument("--model", help="text-to-image model id (default: the starter model)")
    g.add_argument("--expand-with", help="prompt-expansion model id that rewrites each prompt first")
    g.add_argument("--seed", type=int, default=0, help="prompt i uses seed S + 1000 i")
    g.add_argument("--steps", type=int)
    g.add_argument("--guidance", type=float)
    g.add_argument("--verify", type=int, metavar="N", help="draw N candidates per round and keep the best match")
    g.add_argument("--rounds", type=int, default=2, help="with --verify: rounds of prompt rewriting at most")
    g.add_argument(
        "--decode",
        choices=["fast", "full"],
        help="fast: the model's tiny autoencoder (default on a CPU where the model has one); full: its own",
    )
    g.add_argument("--out", required=True)
    g.add_argument("--lora", metavar="ID_OR_PATH[:SCALE]", help="a LoRA adapter: registry id, folder or .safetensors")
    g.add_argument("--ray", action="store_true", help=RAY_HELP)
    g.set_defaults(run=cmd_generate)

    x = sub.add_parser("explain", help="draw, and map where each word of the prompt went (DAAM)")
    x.add_argument("prompt", nargs="*")
    x.add_argument("--png", nargs="+", default=[], help="explain pictures Atelier made again (their settings)")
    x.add_argument("--model", help="text-to-image model id (default: the starter model)")
    x.add_argument("--expand-with", help="prompt-expansion model id that rewrites each prompt first")
    x.add_argument("--seed", type=int, default=0, help="prompt i uses seed S + 1000 i")
    x.add_argument("--steps", type=int)
    x.add_argument("--guidance", type=float)
    x.add_argument("--out", required=True)
    x.set_defaults(run=cmd_explain)

    s = sub.add_parser("stylize", help="redraw pictures in a style")
    s.add_argument("images", nargs="+")
    s.add_argument("--style", required=True)
    s.add_argument("--model")
    s.add_argument("--strength", type=float)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True)
    s.set_defaults(run=cmd_stylize)

    d = sub.add_parser("edit", help="edit pictures by instruction")
    d.add_argument("images", nargs="+")
    d.add_argument("--instruction", required=True, help="e.g. 'make the circle blue' or 'remove the left one'")
    d.add_argument("--model", help="text-to-image model id (default: the starter model)")
    d.add_argument("--seed", type=int, default=0, help="picture i uses seed S + i")
    d.add_argument("--steps", type=int)
    d.add_argument("--verify", type=int, metavar="N", help="draw up to N candidates, keep the first read as the edit")
    d.add_argument("--out", required=True)
    d.set_defaults(run=cmd_edit)

    t = sub.add_parser("chat", help="a conversation: one message per line of SCRIPT; writes DIR/turns.jsonl")
    t.add_argument("script", metavar="SCRIPT")
    t.add_argument("--model", help="text-to-image model id (default: the starter model)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--steps", type=int)
    t.add_argument("--verify", type=int, default=4, metavar="N", help="candidates per round on draws and changes")
    t.add_argument("--out", required=True)
    t.set_defaults(run=cmd_chat)


def add_reading_commands(sub) -> None:
    c = sub.add_parser("caption", help="describe pictures")
    c.add_argument("images", nargs="+")
    c.add_argument("--model")
    c.set_defaults(run=cmd_caption)

    e = sub.add_parser("expand", help="rewrite requests into prompts")
    e.add_argument("prompt", nargs="+")
    e.add_argument("--model")
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(run=cmd_expand)
    v = sub.add_parser("evaluate", help="fidelity of a text-to-image model on a prompt list")
    v.add_argument("prompt", nargs="*")
    v.add_argument("--prompts", help="a file with one prompt per line")
    v.add_argument("--model")
    v.add_argument("--expand-with")
    v.add_argument("--verify", type=int, metavar="N")
    v.add_argument("--rounds", type=int, default=2)
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--steps", type=int)
    v.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    v.add_argument("--ray", action="store_true", help=RAY_HELP)
    v.set_defaults(run=cmd_evaluate)


def main(argv: list[str] | None = None, ray_runner=None) -> int:
    """`ray_runner`: what --ray runs on (serving.ray_batch, handed in by the top-level cli.py), or None."""
    args = parser().parse_args(argv)
    args.ray_runner = ray_runner
    try:
        return args.run(args) or 0  # edit: 1 when a picture was refused
    except AtelierError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
