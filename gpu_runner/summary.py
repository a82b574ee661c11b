"""Folding a run's event stream into per-test records, on the trusted side.

The events come from a process learner code controls; session.py has already dropped lines that
were not well-formed or lacked the run's token. Here every field a grader reads is type-checked
and bounded once, so verdicts.py can trust the *shape* of what it gets (never its values).
"""

from gpu_runner import wire

SPEC_KINDS = ("close", "exact", "le", "ge")
OUTCOMES = ("ok", "exception", "timeout")


def _text(v, limit=wire.MAX_TEXT) -> str:
    return v[:limit] if isinstance(v, str) else ""


def _tid(v):
    return v if isinstance(v, str) and 0 < len(v) <= wire.MAX_KEY else None


def clean_spec(spec) -> dict:
    """A check's spec as the reference recorded it, with only known keys of the right types."""
    if not isinstance(spec, dict):
        return {"kind": "close"}
    out = {"kind": spec.get("kind") if spec.get("kind") in SPEC_KINDS else "close"}
    for key in ("atol", "rtol", "bound"):
        n = wire.as_float(spec.get(key))
        if n is not None and type(spec.get(key)) is not bool:
            out[key] = n
    if spec.get("dtype") is False:
        out["dtype"] = False
    if isinstance(spec.get("msg"), str):
        out["msg"] = spec["msg"][:500]
    return out


def _error(v):
    if not isinstance(v, dict):
        return None
    frames = []
    for f in v.get("frames") or [] if isinstance(v.get("frames"), list) else []:
        if isinstance(f, dict):
            frames.append(
                {
                    "file": _text(f.get("file"), 300),
                    "line": f.get("line") if type(f.get("line")) is int else None,
                    "func": _text(f.get("func"), 200),
                    "code": _text(f.get("code"), 300),
                    **({"test": True} if f.get("test") else {}),
                }
            )
    out = {"type": _text(v.get("type"), 100) or "Error", "message": _text(v.get("message")), "frames": frames[-8:]}
    for key in ("file", "code"):
        if key in v:
            out[key] = _text(v.get(key), 300)
    if "line" in v:
        out["line"] = v["line"] if type(v.get("line")) is int else None
    return out


def summarize(events: list[dict]) -> dict:
    """Fold a run's event stream into per-test records."""
    tests: dict[str, dict] = {}
    summary = {
        "syntax": [],
        "tests": tests,
        "done": None,
        "harness_error": None,
        "running": None,
        "loading": None,
        "integrity": [],
    }

    def record(tid):
        return tests.setdefault(
            tid,
            {"started": False, "finished": False, "obs": {}, "duplicates": [], "metrics": {}, "hists": {}, "figs": {}},
        )

    for event in events:
        if not isinstance(event, dict):
            continue
        t, tid = event.get("t"), _tid(event.get("test"))
        if t == "syntax":
            if len(summary["syntax"]) < 50:
                summary["syntax"].append(_error(event.get("error")) or {})
        elif t == "load":
            summary["loading"] = _text(event.get("file"), 300)
        elif t == "start" and tid:
            record(tid)["started"] = True
            record(tid)["started_at"] = wire.as_float(event.get("_at"))
            summary["running"], summary["loading"] = tid, None
        elif t == "obs" and tid and isinstance(event.get("key"), str) and len(event["key"]) <= wire.MAX_KEY:
            rec = record(tid)
            if event["key"] in rec["obs"]:
                rec["duplicates"].append(event["key"])
            else:
                rec["obs"][event["key"]] = {
                    "value": wire.observed(event.get("value")),
                    "spec": clean_spec(event.get("spec")),
                }
        elif t == "metric" and tid:
            series = record(tid)["metrics"].setdefault(_text(event.get("name"), 100), [])
            step = event.get("step")
            if len(series) < 100_000 and type(step) is int:
                series.append([step, wire.safe_float(event.get("value"))])
        elif t == "hist" and tid:
            drawn = wire.histogram(event)
            rec = record(tid)
            if drawn is not None and sum(len(v) for v in rec["hists"].values()) < wire.MAX_HISTOGRAMS_PER_TEST:
                rec["hists"].setdefault(_text(event.get("name"), 100), []).append(drawn)
        elif t == "fig" and tid:
            drawn = wire.figure(event)
            rec = record(tid)
            name = _text(event.get("name"), 100)
            if drawn is not None and (name in rec["figs"] or len(rec["figs"]) < wire.MAX_FIGURES_PER_TEST):
                rec["figs"][name] = drawn  # the last one drawn under a name
        elif t == "test" and tid:
            rec = record(tid)
            if rec["finished"]:
                rec["duplicates"].append("(test result)")
                continue
            duration = wire.as_float(event.get("duration"))
            began, ended = rec.get("started_at"), wire.as_float(event.get("_at"))
            rec["wall"] = ended - began if began is not None and ended is not None else None
            rec.update(
                finished=True,
                outcome=event.get("outcome") if event.get("outcome") in OUTCOMES else "exception",
                error=_error(event.get("error")),
                duration=round(duration, 4)
                if duration is not None and duration == duration and abs(duration) < 1e9
                else None,
                output=_text(event.get("output"), 64 << 10),
                output_truncated=bool(event.get("output_truncated")),
            )
            if summary["running"] == tid:
                summary["running"] = None
        elif t == "done" and summary["done"] is None:
            summary["done"] = event
        elif t == "harness_error":
            summary["harness_error"] = _text(event.get("error"))
        elif t == "integrity" and len(summary["integrity"]) < 100:
            level = event.get("level") if event.get("level") in ("evidence", "recorded") else "evidence"
            summary["integrity"].append(
                {
                    "level": level,
                    "kind": _text(event.get("kind"), 60),
                    "detail": _text(event.get("detail"), 300),
                    "test": tid,
                    "file": _text(event.get("file"), 300) or None,
                }
            )
    return summary


def evidence_by_test(summary: dict, tests: list[dict], process: dict) -> dict[str, list[str]]:
    """test id -> the reasons its result cannot count. Evidence raised while a test ran belongs
    to it; while a test file was being imported, to that file's tests; anything else (and lines
    on the channel the harness did not write) to every test of the run."""
    ids = [t["id"] for t in tests]
    by_file: dict[str, list[str]] = {}
    for t in tests:
        by_file.setdefault(t.get("file", ""), []).append(t["id"])
    reasons: dict[str, list[str]] = {}

    def add(targets, why):
        for tid in targets:
            if why not in reasons.setdefault(tid, []):
                reasons[tid].append(why)

    for item in summary["integrity"]:
        if item["level"] != "evidence":
            continue
        if item["test"] in ids:
            add([item["test"]], item["detail"])
        elif item["file"] in by_file:
            add(by_file[item["file"]], item["detail"])
        else:
            add(ids, item["detail"])
    channel = process.get("channel") or {}
    forged, malformed = int(channel.get("forged") or 0), int(channel.get("malformed") or 0)
    if forged or malformed:
        add(
            ids,
            f"wrote {forged + malformed} line{'s' if forged + malformed != 1 else ''} of its own on the grader's channel",
        )
    return reasons


def integrity_report(summary: dict, reasons: dict, process: dict) -> dict:
    """What staff see: whether to review, the evidence and what was only recorded."""
    evidence = [i for i in summary["integrity"] if i["level"] == "evidence"]
    channel = process.get("channel") or {}
    forged, malformed = int(channel.get("forged") or 0), int(channel.get("malformed") or 0)
    if forged or malformed:
        evidence.append(
            {
                "level": "evidence",
                "kind": "channel",
                "detail": f"{forged} forged and {malformed} malformed lines on the grader's channel",
                "test": None,
                "file": None,
            }
        )
    return {
        "flagged": bool(reasons),
        "evidence": evidence[:50],
        "recorded": [i for i in summary["integrity"] if i["level"] == "recorded"][:50],
    }
