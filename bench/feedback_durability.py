"""Ratings under a crowd and a crash: are acknowledged ratings kept, exactly once?

    python -m bench.feedback_durability [--clients 8] [--ratings 25] [--commits 300]

(a) Starts `python app.py --offline --feedback-db sqlite:///TMP/feedback.db`. Each of N gradio_client clients
    has its pictures drawn by /generate (the starter model), then all rate theirs at once through /feedback
    (half by PNG file, half by id). When half the ratings are acknowledged the server is killed with
    SIGKILL and restarted on the same database; the clients resend what was not acknowledged, then every
    rating once more (idempotence). Checks: every acknowledged rating is stored exactly once, nothing else
    is stored, and `python -m pipelines feedback report --json` counts what was sent and acknowledged.
(b) Side by side, in this process: ms per rating committed with SQLite's synchronous=FULL (the default:
    survives a power loss) and NORMAL (survives a killed process only).
Exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from bench.abuse import REPO, start_app, stop_app
from pipelines.feedback.rating import rate
from pipelines.feedback.store import FeedbackStore
from tests.test_feedback import made


class Crowd:
    """The clients' shared view: the server's URL (it changes at the restart) and what was acknowledged."""

    def __init__(self, url: str):
        self.url, self.lock = url, threading.Lock()
        self.acknowledged: dict[str, str] = {}  # picture id -> rating
        self.failures = 0
        self.refusals: list[str] = []
        self.half = threading.Event()
        self.total = 0

    def ack(self, pid: str, rating: str) -> None:
        with self.lock:
            self.acknowledged[pid] = rating
            if len(self.acknowledged) >= self.total // 2:
                self.half.set()


def connect(crowd: Crowd) -> Client:
    while True:
        try:
            return Client(crowd.url, verbose=False)
        except Exception:  # the server is down or starting: try again
            time.sleep(0.5)


def draw(client: Client, count: int, seed: int) -> list[Path]:
    """`count` pictures of the starter model, from seed on (each seed its own picture)."""
    files: list[Path] = []
    while len(files) < count:
        n = min(8, count - len(files))
        _, _, _, pngs = client.predict("big red ball on the left", seed=seed, num_images=n, api_name="/generate")
        files += [Path(p) for p in pngs]
        seed += 100
    return files


def rater(crowd: Crowd, k: int, files: list[Path], start: threading.Barrier) -> None:
    client = connect(crowd)
    start.wait()
    todo = list(enumerate(files))
    for round_ in range(2):  # 0: until each is acknowledged; 1: every one once more
        while todo:
            i, path = todo[0]
            pid = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
            rating = "up" if (i + k) % 3 else "down"
            by = dict(picture=handle_file(path)) if i % 2 else dict(picture_id=pid)
            try:
                got = client.predict(**by, rating=rating, note=f"client {k} picture {i}", api_name="/feedback")
            except AppError as e:  # the server answered with a sentence: it refused this rating
                crowd.refusals.append(str(e))
                todo.pop(0)
                continue
            except Exception:  # no answer: the server is down or restarting
                with crowd.lock:
                    crowd.failures += 1
                time.sleep(0.5)
                client = connect(crowd)
                continue
            assert got == pid, (got, pid)
            crowd.ack(pid, rating)
            todo.pop(0)
        todo = list(enumerate(files)) if round_ == 0 else []


def crash_run(args, folder: Path) -> int:
    url = f"sqlite:///{folder / 'feedback.db'}"
    app = start_app("--no-mcp", "--feedback-db", url, log=folder / "app.log")
    crowd = Crowd(app.url)
    print(f"app ready in {app.ready_seconds:.1f} s; drawing {args.clients} x {args.ratings} pictures", flush=True)
    with ThreadPoolExecutor(4) as pool:  # each client its own pictures; 4 at once: one person's job limit
        files = list(pool.map(lambda k: draw(connect(crowd), args.ratings, seed=100_000 * k), range(args.clients)))
    if len({hashlib.sha256(f.read_bytes()).digest() for group in files for f in group}) != args.clients * args.ratings:
        print("the pictures drawn are not all different; the check needs one picture per rating")
        return 1
    crowd.total = args.clients * args.ratings
    start = threading.Barrier(args.clients + 1)
    threads = [threading.Thread(target=rater, args=(crowd, k, files[k], start)) for k in range(args.clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    crowd.half.wait(timeout=600)
    app.process.send_signal(signal.SIGKILL)
    app.process.wait()
    killed_at = len(crowd.acknowledged)
    print(f"killed with SIGKILL after {killed_at} acknowledged ratings", flush=True)
    restarted = start_app("--no-mcp", "--feedback-db", url, log=folder / "app.log")
    crowd.url = restarted.url
    print(f"restarted on the same database in {restarted.ready_seconds:.1f} s", flush=True)
    for t in threads:
        t.join(timeout=900)
    elapsed = time.perf_counter() - began
    stop_app(restarted)
    return check(crowd, url, killed_at, elapsed)


def check(crowd: Crowd, url: str, killed_at: int, elapsed: float) -> int:
    store = FeedbackStore(url)
    rows = store.rated()
    ids = [r.picture_id for r in rows]
    stored = {r.picture_id: r.rating for r in rows}
    report = json.loads(
        subprocess.run(
            [sys.executable, "-m", "pipelines", "feedback", "report", "--db", url, "--json"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    sent_up = sum(r == "up" for r in crowd.acknowledged.values())
    checks = {
        "every acknowledged rating stored": set(crowd.acknowledged) <= set(stored),
        "each exactly once": len(ids) == len(set(ids)),
        "nothing else stored": set(stored) == set(crowd.acknowledged),
        "stored as acknowledged": all(stored.get(p) == r for p, r in crowd.acknowledged.items()),
        "report counts = acknowledged": report["ratings"] == len(crowd.acknowledged) == crowd.total,
        "report 👍 = acknowledged 👍": report["up"] == sent_up,
        "no refusals": not crowd.refusals,
    }
    print(
        f"{crowd.total} pictures rated; {len(crowd.acknowledged)} acknowledged, {len(stored)} stored, "
        f"report {report['ratings']}; "
        f"{crowd.failures} calls failed while the server was down; {elapsed:.1f} s for the rating phase "
        f"(kill at {killed_at})"
    )
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    store.close()
    return 0 if all(checks.values()) else 1


def commit_cost(folder: Path, count: int) -> None:
    """ms per rating (the picture recorded, then rated), synchronous=FULL and NORMAL side by side."""
    results = {}
    for mode in ("FULL", "NORMAL"):
        store = FeedbackStore(f"sqlite:///{folder / f'{mode}.db'}", synchronous=mode)
        pictures = [made(10_000 + i) for i in range(count)]
        store.remember(pictures)
        began = time.perf_counter()
        for m in pictures:
            rate(store, m.id, "up", "fine")
        results[mode] = (time.perf_counter() - began) / count * 1000
        store.close()
    print(
        f"commit cost, {count} ratings in turn: synchronous=FULL {results['FULL']:.2f} ms, NORMAL "
        f"{results['NORMAL']:.2f} ms per rating (FULL / NORMAL = {results['FULL'] / results['NORMAL']:.2f}x)"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.feedback_durability", description=__doc__)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--ratings", type=int, default=25, help="ratings per client")
    p.add_argument("--commits", type=int, default=300, help="ratings for the commit-cost comparison")
    args = p.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="atelier-feedback-"))
    commit_cost(folder, args.commits)
    status = crash_run(args, folder)
    if status:
        print(f"kept for a look: {folder} (the database and app.log)")
    else:
        shutil.rmtree(folder)
    return status


if __name__ == "__main__":
    sys.exit(main())
