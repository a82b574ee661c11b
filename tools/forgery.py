"""Run the forgery suite's attacks (tools/forgery_attacks.py) through the real sandbox against the
flagship course, in whatever checkout this is run from, and print what each trick achieved.

    cd <checkout> && .venv/bin/python /path/to/tools/forgery.py [--only NAME] [--json out.json]

It works against the commit before the hardening too (it feature-detects the older grading API),
which is how docs/forgery.md shows that every trick worked before and fails now. For each attack
it grades the wrong implementation alone and the wrong implementation plus the trick, against the
reference's observations, exactly as a submission would be graded.
"""

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _setup():
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()


def load_attacks(path: Path) -> list[dict]:
    spec = importlib.util.spec_from_file_location("forgery_attacks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ATTACKS


class Course:
    """The flagship course, its reference observations per exercise, and a warm pool."""

    def __init__(self, path: str):
        from django.conf import settings

        from courses.format.tree import load
        from courses.format.validate import validate
        from gpu_runner import runtime
        from gpu_runner.sandbox.launch import Launcher
        from gpu_runner.sandbox.pool import WarmPool

        self.tree, problems = load(path)
        assert not problems, problems
        from gpu_runner.datasets import local_mirrors

        dirs = (*local_mirrors(), str(settings.DATASET_CACHE_DIR))
        self.spec, problems = validate(self.tree, dataset_dirs=dirs)
        assert not problems, problems
        self.pool = WarmPool(Launcher(runtime.sandbox_config()), enabled=True)
        self.data_dir, self.mirror = settings.DATASET_CACHE_DIR, settings.COURSE_ASSETS_DIR
        self.references = {}

    def close(self):
        self.pool.close()

    def _job(self, ex, files, cached, only=None):
        from grader.course_check import _exercise_files, _support
        from grader.jobs import build_job

        bundle = _exercise_files(self.tree, ex)
        support = _support(self.tree, self.spec, ex, bundle)
        tests = [{**t, "name": t["title"]} for t in ex["tests"]]
        if only:  # the attack's tests and what they depend on
            by_id, wanted, stack = {t["id"]: t for t in tests}, set(), list(only)
            while stack:
                tid = stack.pop()
                if tid not in wanted:
                    wanted.add(tid)
                    stack += by_id[tid].get("depends_on") or []
            tests = [t for t in tests if t["id"] in wanted]
        job = build_job(
            spec=ex,
            bundle=bundle,
            content_hash="forgery",
            files=files,
            tests=tests,
            support=support,
            reference_support=support,
            cached_reference=cached,
            kind="course-test",
        )
        return job, tests

    def _execute(self, job):
        from gpu_runner.execute import execute

        return execute(job, pool=self.pool, data_dir=self.data_dir, mirror_dir=self.mirror)

    def reference(self, slug):
        if slug not in self.references:
            from grader.course_check import _exercise_files

            ex = self.spec["exercises"][slug]
            job, _ = self._job(ex, _exercise_files(self.tree, ex)["solution"], {})
            payload = self._execute(job)
            assert payload.get("gradable", True), payload.get("infrastructure_error")
            self.references[slug] = {payload["reference_device"]: payload["reference_events"]}
        return self.references[slug]

    def grade(self, slug, files, only=None) -> dict:
        ex = self.spec["exercises"][slug]
        cached = self.reference(slug)
        job, tests = self._job(ex, files, cached, only)
        payload = self._execute(job)
        if "result" in payload:  # this commit's API: the runner computed the one verdict
            result = payload["result"]
        else:  # the commit before: grade the payload the way its database side did
            from gpu_runner import verdicts

            result = verdicts.final_result(
                tests=tests, payload=payload, reference_events=cached.get(payload.get("device", "cpu"))
            )
        result["_stdout"] = (payload.get("process") or {}).get("stdout", "")
        return result

    def wrong_files(self, attack) -> dict:
        from courses.format.mutants import mutant_sources
        from grader.course_check import _exercise_files

        ex = self.spec["exercises"][attack["exercise"]]
        bundle = _exercise_files(self.tree, ex)
        files = dict(bundle["solution"])
        wrong = attack["wrong"]
        if "mutant" in wrong:
            mutant = next(m for m in ex["mutants"] if m["name"] == wrong["mutant"])
            files.update(mutant_sources(mutant, bundle))
        for old, new in wrong.get("replace", []):
            target = attack["file"]
            assert old in files[target], f"{attack['name']}: {old!r} not in {target}"
            files[target] = files[target].replace(old, new)
        if wrong.get("append"):
            files[attack["file"]] += "\n" + wrong["append"]
        return files


def summary(result: dict, leak: str | None) -> dict:
    tests = result.get("tests") or []
    visible_text = json.dumps({k: v for k, v in result.items() if k != "_stdout"}) + result.get("_stdout", "")
    return {
        "status": result.get("status"),
        "gradable": result.get("gradable"),
        "score": result.get("score"),
        "max_score": result.get("max_score"),
        "passed": sorted(t["id"] for t in tests if t["status"] == "passed"),
        "flagged": bool((result.get("integrity") or {}).get("flagged")),
        "leaked": bool(leak and leak in visible_text),
        "messages": {t["id"]: f"{t['status']}: {t['message'][:300]}" for t in tests if t["status"] != "passed"},
    }


def run_attack(course: Course, attack: dict) -> dict:
    wrong = course.wrong_files(attack)
    tricked = {**wrong, attack["file"]: wrong[attack["file"]] + "\n\n# --- the trick ---\n" + attack["trick"]}
    started = time.monotonic()
    only = attack.get("tests")
    alone = summary(course.grade(attack["exercise"], wrong, only), attack.get("leak"))
    with_trick = summary(course.grade(attack["exercise"], tricked, only), attack.get("leak"))
    gained = sorted(set(with_trick["passed"]) - set(alone["passed"]))
    return {
        "name": attack["name"],
        "exercise": attack["exercise"],
        "about": attack["about"],
        "alone": alone,
        "with_trick": with_trick,
        # The trick "worked" if it made a test pass that the wrong code fails, or leaked a hidden test.
        "worked": bool(gained) or with_trick["leaked"],
        "gained": gained,
        "seconds": round(time.monotonic() - started, 1),
    }


def compare(before_path: str, after_path: str) -> str:
    """The before/after table of docs/forgery.md, from two --json files."""
    before = {r["name"]: r for r in json.loads(Path(before_path).read_text())}
    lines = [
        "| attack | exercise | before: wrong alone → with trick | after: wrong alone → with trick | after: flagged |",
        "|---|---|---|---|---|",
    ]

    def cell(row):
        a, t = row["alone"], row["with_trick"]
        gain = " (leaked hidden tests)" if t.get("leaked") else ""
        return f"{a['score']}/{a['max_score']} → **{t['score']}/{t['max_score']}**{gain}"

    for row in json.loads(Path(after_path).read_text()):
        old = before.get(row["name"])
        flagged = "yes" if row["with_trick"]["flagged"] else "no"
        lines.append(f"| {row['name']} | {row['exercise']} | {cell(old) if old else '—'} | {cell(row)} | {flagged} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="print the table of two --json files")
    parser.add_argument("--attacks", default=str(HERE / "forgery_attacks.py"))
    parser.add_argument("--course", default="content/zero-to-gpt")
    parser.add_argument("--only", action="append", help="run only this attack (repeatable)")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--show", action="store_true", help="print why each test failed with the trick")
    args = parser.parse_args()
    if args.compare:
        print(compare(*args.compare))
        return
    _setup()
    attacks = [a for a in load_attacks(Path(args.attacks)) if not args.only or a["name"] in args.only]
    course = Course(args.course)
    rows = []
    try:
        for attack in attacks:
            row = run_attack(course, attack)
            rows.append(row)
            a, t = row["alone"], row["with_trick"]
            print(
                f"{row['name']:<18} {row['exercise']:<18} wrong alone {a['score']:>4}/{a['max_score']:<4} "
                f"with trick {t['score']:>4}/{t['max_score']:<4} {t['status']:<7} "
                f"{'FLAGGED ' if t['flagged'] else ''}{'LEAKED ' if t['leaked'] else ''}"
                f"{'trick worked: ' + ', '.join(row['gained']) if row['gained'] else ('trick worked (leak)' if row['worked'] else 'trick gained nothing')}",
                flush=True,
            )
            if args.show:
                for tid, text in t["messages"].items():
                    print(f"    {tid}: {text}")
    finally:
        course.close()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
