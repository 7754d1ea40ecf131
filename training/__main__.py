"""python -m training diffusion|captioner|prompter: trains one starter model into zoo/starter/."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

STARTER = Path(__file__).resolve().parent.parent / "zoo" / "starter"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("model", choices=["diffusion", "captioner", "prompter"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="checkpoint folder (default: zoo/starter/shapes-MODEL)")
    parser.add_argument("--work-dir", type=Path, default=Path("runs"), help="resumable training state")
    parser.add_argument("--resume", action="store_true", help="continue from the state in --work-dir")
    parser.add_argument("--steps", type=int, help="optimiser steps (for diffusion: UNet steps)")
    parser.add_argument("--vae-steps", type=int, help="diffusion only: VAE steps")
    parser.add_argument("--batch", type=int, help="batch size")
    parser.add_argument("--data", type=Path, help="diffusion only: an imagefolder (pictures + metadata.jsonl)")
    parser.add_argument("--crop", type=float, default=0.0, help="diffusion --data: random crops of up to this fraction")
    parser.add_argument("--flip", action="store_true", help="diffusion --data: mirror flips (swaps left and right!)")
    args = parser.parse_args(argv)

    out = args.out or STARTER / f"shapes-{args.model}"
    work = args.work_dir / args.model
    if args.model == "diffusion":
        from training import train_diffusion

        overrides = {k: v for k, v in {"unet_steps": args.steps, "vae_steps": args.vae_steps,
                                       "unet_batch": args.batch, "vae_batch": args.batch}.items() if v}
        result = train_diffusion.run(out, work, args.seed, args.data, args.resume, overrides, args.crop, args.flip)
    else:
        from training import train_captioner, train_prompter

        module = train_captioner if args.model == "captioner" else train_prompter
        overrides = {k: v for k, v in {"steps": args.steps, "batch": args.batch}.items() if v}
        result = module.run(out, work, args.seed, args.resume, overrides)
    print(json.dumps({"model": args.model, "out": str(out)} | result))


if __name__ == "__main__":
    main()
