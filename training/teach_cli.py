"""The command lines of `python -m training prepare` and `python -m training lora`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training.loop import Stopped, TrainingError, stopping_after
from zoo.errors import AtelierError


def prepare_main(argv: list[str]) -> None:
    from training.prepare import base_side, prepare, registry_captioner

    parser = argparse.ArgumentParser(prog="python -m training prepare", description="Clean a folder of pictures.")
    parser.add_argument("--data", type=Path, required=True, help="RAW: an imagefolder or a bare folder of pictures")
    parser.add_argument("--out", type=Path, required=True, help="CLEAN: the imagefolder written, with report.json")
    parser.add_argument("--base", default="starter/shapes-diffusion", help="the model the pictures are for")
    parser.add_argument("--caption-with", help="captioning model id (default: the base model's captioner)")
    args = parser.parse_args(argv)
    captioner = registry_captioner(args.caption_with, args.base)
    report = prepare(args.data, args.out, base_side(args.base), captioner)
    counts = {k: len(v) for k, v in report.items()}
    print(json.dumps({"out": str(args.out), "captioner": captioner.model_id} | counts))


def lora_main(argv: list[str]) -> None:
    from training import lora

    parser = argparse.ArgumentParser(prog="python -m training lora", description="Fine-tune a LoRA adapter.")
    parser.add_argument("--base", default="starter/shapes-diffusion", help="text-to-image model id of the registry")
    parser.add_argument("--data", type=Path, required=True, help="CLEAN: an imagefolder (after prepare)")
    parser.add_argument("--out", type=Path, required=True, help="DIR: the adapter, its config and card")
    parser.add_argument("--steps", type=int, default=lora.DEFAULTS["steps"])
    parser.add_argument("--rank", type=int, default=lora.DEFAULTS["rank"])
    parser.add_argument("--batch", type=int, default=lora.DEFAULTS["batch"])
    parser.add_argument("--lr", type=float, default=lora.DEFAULTS["lr"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prior", type=int, default=lora.DEFAULTS["prior"], help="pictures the base model draws")
    parser.add_argument(
        "--prior-weight", type=float, default=lora.DEFAULTS["prior_weight"], help="loss weight of the base's own rows"
    )
    parser.add_argument("--vae-steps", type=int, default=lora.DEFAULTS["vae_steps"], help="decoder steps, if needed")
    parser.add_argument(
        "--text-encoder", action="store_true", help="learn new words: caption words the tokenizer has no token for"
    )
    parser.add_argument("--text-encoder-lora", action="store_true", help="LoRA on the text encoder's layers as well")
    parser.add_argument("--resume", action="store_true", help="continue from the state in DIR/state")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest on a shared machine)")
    parser.add_argument("--ray-workers", type=int, default=0, help="train data-parallel on N Ray Train workers")
    parser.add_argument("--sample-every", type=int, default=200, help="print a sample picture every N steps")
    parser.add_argument("--stop-after", type=int, metavar="STEP", help="stop at this step, as Stop would")
    args = parser.parse_args(argv)
    with stopping_after(args.stop_after):
        result = lora.run(args)
    print(json.dumps({"out": str(args.out)} | result))


def main(argv: list[str]) -> None:
    try:
        (prepare_main if argv[0] == "prepare" else lora_main)(argv[1:])
    except (TrainingError, AtelierError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except Stopped as e:
        print(e, file=sys.stderr)
    except KeyboardInterrupt:
        print("stopped; continue with --resume", file=sys.stderr)
        raise SystemExit(130) from None
