"""fromscratch — work on From Scratch exercises from a terminal or a notebook.

fromscratch login --url URL --token fs_…   check and save a token (Account → API tokens)
fromscratch get COURSE/EXERCISE [--dir D]  starter files and visible tests into a folder
fromscratch test [--dir D]                 the visible tests here, no server needed after `get`
fromscratch submit [--run] [--dir D]       upload, then follow the grading to the final score
fromscratch submit --from-notebook NB.ipynb [--cell-tag solution]
fromscratch status [--dir D]               your progress on the exercise and its last result
fromscratch open [--dir D]                 the exercise in your browser
"""

import argparse
import getpass
import json
import sys
import time
import webbrowser
from pathlib import Path

from fromscratch_cli.client import ApiError, Client, load_login, save_login
from fromscratch_cli.notebook import NotebookError, extract

META = ".fromscratch.json"
MARK = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "-"}


def _client() -> Client:
    login = load_login()
    return Client(login["url"], login["token"])


def _meta(folder: Path) -> dict:
    path = folder / META
    if not path.exists():
        raise ApiError(0, f"{folder} is not an exercise folder: run `fromscratch get COURSE/EXERCISE` first")
    return json.loads(path.read_text())


def cmd_login(args) -> int:
    token = args.token or getpass.getpass("API token (fs_…): ")
    client = Client(args.url, token)
    courses = client.get("/courses")
    path = save_login(args.url, token)
    print(f"Logged in to {args.url} ({len(courses)} course(s) visible). Saved in {path}.")
    return 0


def cmd_get(args) -> int:
    course, _, exercise = args.exercise.partition("/")
    if not course or not exercise:
        raise ApiError(0, "name the exercise as COURSE/EXERCISE, e.g. zero-to-gpt/value")
    client = _client()
    ex = client.get(f"/courses/{course}/exercises/{exercise}")
    if ex["locked"]:
        raise ApiError(403, ex["locked"])
    folder = Path(args.dir or exercise)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in {**ex["support"], **ex["visible_tests"]}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
        written.append(name)
    for name, text in ex["starter"].items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and not args.force:
            print(f"kept your {name} (--force replaces it with the starter)")
            continue
        target.write_text(text)
        written.append(name)
    (folder / META).write_text(json.dumps({"course": course, "exercise": exercise, "files": ex["files"]}, indent=2))
    job = _local_job(client, course, exercise)
    (folder / ".fromscratch-job.json").write_text(json.dumps(job))
    print(f"{ex['title']}: {', '.join(written)} in {folder}/. Edit {', '.join(ex['files'])}, then `fromscratch test`.")
    return 0


def _local_job(client: Client, course: str, exercise: str, wait: float = 120) -> dict:
    deadline = time.monotonic() + wait
    while True:
        status, body = client.call("GET", f"/courses/{course}/exercises/{exercise}/local")
        if body.get("ready"):
            return body["job"]
        if time.monotonic() > deadline:
            raise ApiError(
                status, "the server is still computing the expected values; try `fromscratch get` again later"
            )
        time.sleep(1)


def _files(folder: Path, meta: dict, args) -> dict:
    if getattr(args, "from_notebook", None):
        return extract(Path(args.from_notebook), tag=args.cell_tag, files=meta["files"])
    missing = [f for f in meta["files"] if not (folder / f).exists()]
    if missing:
        raise ApiError(0, f"missing {', '.join(missing)} in {folder}")
    return {f: (folder / f).read_text() for f in meta["files"]}


def _print_test(row: dict) -> None:
    line = f"  {MARK.get(row['status'], '?')} {row.get('name') or row['id']}"
    if row["status"] != "passed" and row.get("message"):
        line += "\n      " + row["message"].replace("\n", "\n      ")
    print(line)


def cmd_test(args) -> int:
    from fromscratch_cli.local import run_local

    folder = Path(args.dir)
    meta = _meta(folder)
    job_path = folder / ".fromscratch-job.json"
    if not job_path.exists():
        raise ApiError(0, "no expected values here: run `fromscratch get` again")
    payload = run_local(json.loads(job_path.read_text()), _files(folder, meta, args))
    result = payload.get("result") or {}
    for row in result.get("tests") or []:
        _print_test(row)
    print(result.get("message") or payload.get("infrastructure_error") or "no result")
    return 0 if result.get("status") == "passed" else 1


def cmd_submit(args) -> int:
    folder = Path(args.dir)
    meta = _meta(folder)
    client = _client()
    kind = "run" if args.run else "submit"
    sub = client.post(
        f"/courses/{meta['course']}/exercises/{meta['exercise']}/submissions",
        {"kind": kind, "files": _files(folder, meta, args)},
    )
    print(
        f"{'Run' if args.run else 'Submission'} #{sub['id']} queued. Following it (Ctrl-C stops watching, not grading)…"
    )
    after, total, done, deadline = 0, 0, 0, time.monotonic() + args.timeout
    while True:
        page = client.get(f"/submissions/{sub['id']}/events?after={after}")
        for event in page["events"]:
            after = max(after, event.get("seq", 0))
            kind_ = event.get("type")
            if kind_ == "queued":
                total = event.get("total") or 0
                print(f"  queued (position {event.get('position')}), {total} test(s)")
            elif kind_ == "restarted":  # the worker was lost mid-run: grading starts again
                done = 0
                print(f"  the grading worker was lost; starting again (try {event.get('delivery')})")
            elif kind_ == "test" and isinstance(event.get("result"), dict):
                done += 1
                _print_test(event["result"])
                if total:
                    print(f"  [{'#' * int(20 * done / total):<20}] {done}/{total}")
            elif kind_ == "metric":
                print(f"    {event.get('name')} step {event.get('step')}: {event.get('value')}")
        if page["finished"]:
            break
        if time.monotonic() > deadline:
            raise ApiError(0, f"still grading after {args.timeout:.0f} s: `fromscratch status` shows it later")
        time.sleep(0.5)
    final = client.get(f"/submissions/{sub['id']}")
    result = final.get("result") or {}
    print(result.get("message") or final["status"])
    print(f"Score: {final['score']:g}/{final['max_score']:g}" if final["score"] is not None else "Not graded.")
    print(f"In the browser: {client.url}{final['url']}")
    return 0 if final["passed"] else 1


def cmd_status(args) -> int:
    meta = _meta(Path(args.dir))
    rows = _client().get(f"/courses/{meta['course']}/progress")
    row = next((r for r in rows if r["exercise"] == meta["exercise"]), None)
    if row is None:
        print(f"{meta['course']}/{meta['exercise']}: not submitted yet")
    else:
        print(
            f"{meta['course']}/{meta['exercise']}: {row['status']}, best {row['best_score']:g}/{row['max_score']:g} after {row['submits']} submit(s)"
        )
    return 0


def cmd_open(args) -> int:
    meta = _meta(Path(args.dir))
    url = f"{load_login()['url']}/courses/{meta['course']}/exercises/{meta['exercise']}/"
    print(url)
    webbrowser.open(url)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fromscratch", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("login", help="check and save an API token")
    s.add_argument("--url", required=True)
    s.add_argument("--token")
    s = sub.add_parser("get", help="starter files and visible tests into a folder")
    s.add_argument("exercise", help="COURSE/EXERCISE, e.g. zero-to-gpt/value")
    s.add_argument("--dir")
    s.add_argument("--force", action="store_true", help="replace your files with the starter")
    for name in ("test", "submit", "status", "open"):
        s = sub.add_parser(name)
        s.add_argument("--dir", default=".")
        if name in ("test", "submit"):
            s.add_argument("--from-notebook", metavar="NOTEBOOK")
            s.add_argument("--cell-tag", default="solution")
        if name == "submit":
            s.add_argument("--run", action="store_true", help="visible tests only, does not count")
            s.add_argument("--timeout", type=float, default=600)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return globals()[f"cmd_{args.command}"](args)
    except (ApiError, NotebookError) as exc:
        print(f"fromscratch: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
