"""One simulated learner for bench/load.py: what a browser does on the exercise page, over the
same HTTP endpoints and websockets, with think time between steps.

Sign in (allauth's form: the CSRF cookie from the GET, then the POST), then per round: read the
exercise's lesson, open the exercise, Submit (right or wrong code) and follow the submission's
websocket until the verdict and the database's `recorded`, ask the tutor a question and read its
reply to the end. Everything it sees goes into a shared `Tally`; nothing here raises on a server
fault: each one is counted by kind.
"""

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import aiohttp
import yarl

# How long a learner waits for each thing before counting it as an error. Generous: at 200
# learners on 2 cores the queue is long, and a slow verdict is a figure, not a failure.
RESULT_WAIT_SECONDS = 240.0
RECORDED_WAIT_SECONDS = 60.0
TUTOR_WAIT_SECONDS = 120.0
# The browser keeps the submission socket open this long after the verdict for `recorded`
# (frontend/static/frontend/exercise.js): a recorded event later than this is counted.
BROWSER_RECORDED_WINDOW = 5.0

QUESTIONS = [
    "Why does my tanh gradient come out wrong?",
    "What is the local derivative of exp?",
    "How does the chain rule apply inside _backward?",
    "Why must _backward add to grad with += instead of =?",
]


@dataclass
class Plan:
    base: str
    password: str
    course: str
    exercise: str
    lesson: str
    right: dict
    wrong: dict
    rounds: int
    think: tuple[float, float]
    ramp: float
    wrong_share: float
    seed: int
    last_round_at: float  # time.monotonic(): no round starts after it


@dataclass
class Tally:
    http: dict = field(default_factory=lambda: defaultdict(list))  # request kind -> seconds (successes)
    submit_to_result: list = field(default_factory=list)
    submit_to_recorded: list = field(default_factory=list)
    tutor: list = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    # submission id -> {"expected": "passed"|"failed", "shown": {status, score, gradable} | None}
    submissions: dict = field(default_factory=dict)
    first_submit: float | None = None
    last_result: float | None = None
    rounds_done: int = 0
    rounds_skipped: int = 0
    recorded_late: int = 0
    where: dict = field(default_factory=dict)  # learner index -> the step it is in (for the deadline report)


def _csrf(session: aiohttp.ClientSession, base: str) -> str:
    cookie = session.cookie_jar.filter_cookies(yarl.URL(base)).get("csrftoken")
    return cookie.value if cookie else ""


def _json_headers(session, base, referer_path) -> dict:
    return {
        "Content-Type": "application/json",
        "X-CSRFToken": _csrf(session, base),
        "Origin": base,
        "Referer": base + referer_path,
    }


async def request(session, tally: Tally, kind: str, method: str, url: str, *, expect: int, **kwargs):
    """The body on the expected status, else None with the fault counted under `kind`."""
    started = time.perf_counter()
    try:
        async with session.request(method, url, allow_redirects=False, **kwargs) as response:
            body = await response.read()
    except TimeoutError:
        tally.errors[f"{kind}: timed out"] += 1
        return None
    except aiohttp.ClientError as exc:
        tally.errors[f"{kind}: {type(exc).__name__} {str(exc)[:60]}".rstrip()] += 1
        return None
    if response.status != expect:
        tally.errors[f"{kind}: HTTP {response.status}"] += 1
        return None
    tally.http[kind].append(time.perf_counter() - started)
    return body


async def sign_in(session, plan: Plan, tally: Tally, email: str) -> bool:
    url = plan.base + "/accounts/login/"
    if await request(session, tally, "sign-in page (GET)", "GET", url, expect=200) is None:
        return False
    form = {"login": email, "password": plan.password, "csrfmiddlewaretoken": _csrf(session, plan.base)}
    # allauth redirects (302) on success and shows the form again (200) on a failure.
    body = await request(
        session,
        tally,
        "sign in (POST)",
        "POST",
        url,
        expect=302,
        data=form,
        headers={"Referer": url, "Origin": plan.base},
    )
    return body is not None


async def _next_frame(ws, until: float) -> dict | None:
    """The next JSON frame, or None when `until` (perf_counter) passed or the socket closed."""
    remaining = until - time.perf_counter()
    if remaining <= 0:
        return None
    try:
        message = await ws.receive(timeout=remaining)
    except TimeoutError:
        return None
    if message.type != aiohttp.WSMsgType.TEXT:
        return None
    return json.loads(message.data)


async def submit(session, plan: Plan, tally: Tally, rng: random.Random, step) -> None:
    wrong = rng.random() < plan.wrong_share
    files, expected = (plan.wrong, "failed") if wrong else (plan.right, "passed")
    page = f"/courses/{plan.course}/exercises/{plan.exercise}/"
    started = time.perf_counter()
    step("submit: POST")
    body = await request(
        session,
        tally,
        "submit (POST)",
        "POST",
        plan.base + page + "submit/",
        expect=201,
        data=json.dumps({"kind": "submit", "files": files}),
        headers=_json_headers(session, plan.base, page),
    )
    if body is None:
        return
    created = json.loads(body)
    record = tally.submissions[created["id"]] = {"expected": expected, "shown": None}
    tally.first_submit = started if tally.first_submit is None else min(tally.first_submit, started)
    ws_url = plan.base.replace("http", "ws", 1) + created["ws"]
    try:
        step("submit: socket handshake")
        async with session.ws_connect(ws_url, origin=plan.base) as ws:
            await ws.send_json({"type": "resume", "after": 0})
            await _follow_submission(ws, tally, record, started, step)
            step("submit: closing the socket")
    except (aiohttp.ClientError, TimeoutError) as exc:
        tally.errors[f"submission socket: {type(exc).__name__}"] += 1
    if record["shown"] is not None and record["shown"]["status"] != expected:
        tally.errors[f"{'wrong' if wrong else 'right'} code shown {record['shown']['status']}"] += 1


async def _follow_submission(ws, tally: Tally, record: dict, started: float, step) -> None:
    """Read events until the database's word on the result: `recorded`, or a `result` of its own
    that replaces the runner's (grader.services.results)."""
    until = started + RESULT_WAIT_SECONDS
    shown_at = None
    step("submit: waiting for the verdict")
    while True:
        frame = await _next_frame(ws, until)
        now = time.perf_counter()
        if frame is None:
            if shown_at is None:
                tally.errors[f"no verdict on the socket within {RESULT_WAIT_SECONDS:.0f} s"] += 1
            else:
                tally.errors[f"no `recorded` within {RECORDED_WAIT_SECONDS:.0f} s of the verdict"] += 1
            return
        if frame.get("type") == "error":
            tally.errors[f"submission socket error: {frame.get('error', '')[:60]}"] += 1
            continue
        event = frame.get("event") or {}
        if event.get("type") == "result":
            record["shown"] = {k: event.get(k) for k in ("status", "score", "gradable")}
            if shown_at is not None:
                return  # the database replaced the runner's verdict: this one is final
            shown_at = now
            tally.submit_to_result.append(now - started)
            tally.last_result = now if tally.last_result is None else max(tally.last_result, now)
            until = now + RECORDED_WAIT_SECONDS
            step("submit: waiting for `recorded`")
        elif event.get("type") == "recorded":
            tally.submit_to_recorded.append(now - started)
            if shown_at is not None and now - shown_at > BROWSER_RECORDED_WINDOW:
                tally.recorded_late += 1
            return


async def ask_tutor(session, plan: Plan, tally: Tally, rng: random.Random, state: dict, step) -> None:
    page = f"/courses/{plan.course}/exercises/{plan.exercise}/"
    if "tutor_ws" not in state:
        step("tutor: start (POST)")
        body = await request(
            session,
            tally,
            "tutor start (POST)",
            "POST",
            f"{plan.base}/courses/{plan.course}/tutor/start/",
            expect=200,
            data=json.dumps({"kind": "exercise", "slug": plan.exercise}),
            headers=_json_headers(session, plan.base, page),
        )
        if body is None:
            return
        state["tutor_ws"] = json.loads(body)["ws"]
    try:
        step("tutor: socket handshake")
        async with session.ws_connect(plan.base.replace("http", "ws", 1) + state["tutor_ws"], origin=plan.base) as ws:
            step("tutor: waiting for the history frame")
            history = await _next_frame(ws, time.perf_counter() + TUTOR_WAIT_SECONDS)
            if not history or history.get("type") != "history":
                tally.errors["tutor socket: no history frame"] += 1
                return
            started = time.perf_counter()
            await ws.send_json({"type": "ask", "text": rng.choice(QUESTIONS)})
            step("tutor: waiting for the reply")
            while True:
                frame = await _next_frame(ws, started + TUTOR_WAIT_SECONDS)
                if frame is None:
                    tally.errors[f"tutor: no reply within {TUTOR_WAIT_SECONDS:.0f} s"] += 1
                    return
                if frame.get("type") == "tutor.done":
                    tally.tutor.append(time.perf_counter() - started)
                    step("tutor: closing the socket")
                    return
                if frame.get("type") == "error":
                    tally.errors[f"tutor: {frame.get('code') or frame.get('error', '')[:60]}"] += 1
                    return
    except (aiohttp.ClientError, TimeoutError) as exc:
        tally.errors[f"tutor socket: {type(exc).__name__}"] += 1


async def learner(index: int, email: str, plan: Plan, tally: Tally) -> None:
    """One learner's whole visit; while it runs, tally.where[index] says what it is doing."""
    try:
        await _visit(index, email, plan, tally)
    except asyncio.CancelledError:
        raise  # cut off by the deadline: `where` stays for the report
    except BaseException:
        tally.where.pop(index, None)
        raise
    tally.where.pop(index, None)


async def _visit(index: int, email: str, plan: Plan, tally: Tally) -> None:
    rng = random.Random(plan.seed * 1_000_003 + index)

    def step(label):
        tally.where[index] = label

    async def think():
        step("thinking")
        await asyncio.sleep(rng.uniform(*plan.think))

    # Learners arrive over the ramp, not all in the same millisecond.
    await asyncio.sleep(rng.uniform(0, plan.ramp))
    timeout = aiohttp.ClientTimeout(total=RESULT_WAIT_SECONDS)
    # unsafe=True: aiohttp refuses cookies from a bare IP address (127.0.0.1) otherwise.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=timeout) as session:
        step("signing in")
        if not await sign_in(session, plan, tally, email):
            return
        state = {}
        for _ in range(plan.rounds):
            if time.monotonic() > plan.last_round_at:
                tally.rounds_skipped += 1
                continue
            step("reading the lesson")
            lesson = f"{plan.base}/courses/{plan.course}/lessons/{plan.lesson}/"
            await request(session, tally, "lesson page", "GET", lesson, expect=200)
            await think()
            step("opening the exercise")
            exercise = f"{plan.base}/courses/{plan.course}/exercises/{plan.exercise}/"
            await request(session, tally, "exercise page", "GET", exercise, expect=200)
            await think()
            await submit(session, plan, tally, rng, step)
            await think()
            await ask_tutor(session, plan, tally, rng, state, step)
            await think()
            tally.rounds_done += 1
