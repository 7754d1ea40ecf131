"""python -m training diffusion|captioner|prompter: trains one starter model into zoo/starter/.
python -m training prepare|lora: cleans a folder of pictures, fine-tunes a LoRA adapter (training/teach_cli.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training.loop import Stopped, TrainingError, stopping_after

STARTER = Path(__file__).resolve().parent.parent / "zoo" / "starter"


def check_folder(path: Path, flag: str) -> None:
    """A folder argument that is written to: it may be missing (it is made), but not a file."""
    if path.exists() and not path.is_dir():
        raise TrainingError(f"{flag} {path} is a file, not a folder; give a folder (it is made if missing).")


def check_imagefolder(folder: Path) -> None:
    """--data: a folder with metadata.jsonl, whose rows name pictures in it, as the imagefolder layout has."""
    from PIL import Image, UnidentifiedImageError

    metadata = folder / "metadata.jsonl"
    if not folder.is_dir():
        raise TrainingError(f"--data {folder} is not a folder; give an imagefolder (pictures plus metadata.jsonl).")
    if not metadata.is_file():
        raise TrainingError(f"--data {folder} has no metadata.jsonl file; add one with a file_name and text per line.")
    try:
        lines = [line for line in metadata.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows = [json.loads(line) for line in lines]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TrainingError(
            f"{metadata} cannot be read as JSON lines ({type(e).__name__}); "
            "write one JSON object with file_name and text per line."
        ) from None
    if not rows:
        raise TrainingError(f"{metadata} lists no pictures; add one line per picture with file_name and text.")
    for number, row in enumerate(rows, 1):
        if not (isinstance(row, dict) and isinstance(row.get("file_name"), str) and isinstance(row.get("text"), str)):
            raise TrainingError(f"Line {number} of {metadata} needs a file_name and a text string.")
        try:
            Image.open(folder / row["file_name"]).close()
        except (OSError, UnidentifiedImageError):
            raise TrainingError(
                f"Line {number} of {metadata} names {row['file_name']}, which is not a picture file in {folder}."
            ) from None


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["prepare"], ["lora"]):
        from training.teach_cli import main as teach_main

        return teach_main(argv)
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
    parser.add_argument(
        "--stop-after",
        type=int,
        metavar="STEP",
        help="stop once a phase reaches this step, as an interrupted run would; --resume continues",
    )
    args = parser.parse_args(argv)

    out = args.out or STARTER / f"shapes-{args.model}"
    work = args.work_dir / args.model
    try:
        check_folder(args.work_dir, "--work-dir")
        check_folder(work, "--work-dir")
        check_folder(out, "--out")
        if args.data is not None:
            check_imagefolder(args.data)
        with stopping_after(args.stop_after):
            result = _run(args, out, work)
    except TrainingError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except Stopped as e:
        print(e, file=sys.stderr)
        return
    print(json.dumps({"model": args.model, "out": str(out)} | result))


def _run(args, out: Path, work: Path) -> dict:
    if args.model == "diffusion":
        from training import train_diffusion

        overrides = {
            k: v
            for k, v in {
                "unet_steps": args.steps,
                "vae_steps": args.vae_steps,
                "unet_batch": args.batch,
                "vae_batch": args.batch,
            }.items()
            if v
        }
        return train_diffusion.run(out, work, args.seed, args.data, args.resume, overrides, args.crop, args.flip)
    from training import train_captioner, train_prompter

    module = train_captioner if args.model == "captioner" else train_prompter
    overrides = {k: v for k, v in {"steps": args.steps, "batch": args.batch}.items() if v}
    return module.run(out, work, args.seed, args.resume, overrides)


if __name__ == "__main__":
    main()
