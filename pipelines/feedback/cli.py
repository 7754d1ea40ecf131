"""python -m pipelines feedback report|export: the ratings people gave, read from the feedback database."""

from __future__ import annotations

import json
from pathlib import Path

DB_HELP = "the feedback database's SQLAlchemy URL (default: $ATELIER_FEEDBACK_DB, else the user's data folder)"


def cmd_report(args) -> None:
    from pipelines.feedback.report import format_report, report
    from pipelines.feedback.store import FeedbackStore

    store = FeedbackStore(args.db)
    try:
        result = report(store.rated())
    finally:
        store.close()
    print(json.dumps(result, ensure_ascii=False) if args.json else format_report(result))


def cmd_export(args) -> None:
    from pipelines.feedback.export import export
    from pipelines.feedback.store import FeedbackStore

    store = FeedbackStore(args.db)
    try:
        done = export(store, Path(args.out), "up" if args.liked else None)
    finally:
        store.close()
    what = "liked pictures" if args.liked else "rated pictures"
    print(f"Wrote {done.written} {what} and metadata.jsonl to {args.out}", end="")
    print(f"; left out {len(done.duplicates)} with the same pixels as one written." if done.duplicates else ".")


def add_feedback_commands(sub) -> None:
    f = sub.add_parser("feedback", help="the ratings people gave: a report, or the liked pictures as a dataset")
    commands = f.add_subparsers(dest="feedback_command", required=True)
    r = commands.add_parser("report", help="share of 👍 per model, attributes marked wrong, the judge's blind spots")
    r.add_argument("--db", help=DB_HELP)
    r.add_argument("--json", action="store_true", help="print the report as one JSON object")
    r.set_defaults(run=cmd_report)
    e = commands.add_parser("export", help="rated pictures as an imagefolder for python -m training prepare")
    e.add_argument("--db", help=DB_HELP)
    e.add_argument("--liked", action="store_true", help="only the pictures rated 👍 (default: every rated one)")
    e.add_argument("--out", required=True, help="a new or empty folder")
    e.set_defaults(run=cmd_export)
