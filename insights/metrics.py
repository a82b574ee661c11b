"""`/metrics`: what an operator scrapes, in the Prometheus text format (exposition format 0.0.4).

Everything is computed at scrape time from Redis and the database, never counted in-process:
the web runs as several processes (gunicorn workers, several pods), and a counter kept in one
of them would see only the requests that process served. prometheus_client's multiprocess mode
solves that only inside one host (it sums files in a shared directory) and still misses what
happens in the workers; the database and the broker already hold the truth for every process.

The queries are bounded so a scrape stays cheap: phase counts and token totals are aggregates
over indexed or narrow columns; the latency histogram reads two timestamps of the submissions
finished in the last `LATENCY_WINDOW` only.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.db.models.fields.json import KT
from django.utils import timezone
from kombu.transport.redis import Channel

from gpu_runner import contract
from grader.models import Submission
from tutor.models import Message

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_WINDOW = timedelta(hours=1)
# Seconds from Submit to the stored result. Pure-Python exercises land in the first buckets
# (~65 ms p50 here); torch exercises that train take tens of seconds to minutes.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
PHASES = [s.value for s in Submission.Status]


@dataclass
class Family:
    name: str
    kind: str  # gauge | counter | histogram
    help: str
    samples: list = field(default_factory=list)  # (suffix, labels, value)

    def add(self, value, suffix: str = "", **labels):
        self.samples.append((suffix, labels, value))


def _escape_label(value) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value) -> str:
    if value == float("inf"):
        return "+Inf"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _le(bound) -> str:
    # As prometheus_client writes bucket bounds ("0.1", "1.0", "+Inf"), so queries match either.
    return "+Inf" if bound == float("inf") else repr(float(bound))


def render(families: list[Family]) -> str:
    lines = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help.replace(chr(92), chr(92) * 2).replace(chr(10), ' ')}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for suffix, labels, value in family.samples:
            text = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
            lines.append(
                f"{family.name}{suffix}{{{text}}} {_number(value)}"
                if text
                else f"{family.name}{suffix} {_number(value)}"
            )
    return "\n".join(lines) + "\n"


def queue_names() -> list[str]:
    """Every queue a job can wait in: the contract's, and the tutor's leak-check queue if an
    operator moved it elsewhere."""
    names = [contract.QUEUE_CPU, contract.QUEUE_GPU, contract.QUEUE_GRADER, settings.TUTOR_LEAK_CHECK_QUEUE]
    return list(dict.fromkeys(names))


def broker_keys(queue: str) -> dict[int, str]:
    """kombu's Redis transport keeps one list per queue per priority step: the queue's own name
    for step 0, `<queue>\\x06\\x16<step>` for the others, all under the global key prefix. The steps
    and separator are read from the transport options, kombu's defaults otherwise."""
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    prefix = options.get("global_keyprefix", "")
    steps = options.get("priority_steps", Channel.priority_steps)
    sep = options.get("sep", Channel.sep)
    return {step: f"{prefix}{queue}{sep}{step}" if step else f"{prefix}{queue}" for step in steps}


def _queue_families() -> list[Family]:
    depth = Family(
        "fromscratch_queue_depth",
        "gauge",
        "Messages waiting in the broker, per Celery queue and priority step (0: learners, 9: staff batch).",
    )
    unacked = Family(
        "fromscratch_broker_unacked_messages",
        "gauge",
        "Messages a worker has taken but not yet acknowledged (jobs running or reserved), all queues.",
    )
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        plan = [(q, step, key) for q in queue_names() for step, key in broker_keys(q).items()]
        pipe = client.pipeline(transaction=False)
        for _q, _step, key in plan:
            pipe.llen(key)
        pipe.hlen(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "") + "unacked")
        *lengths, held = pipe.execute()
    finally:
        client.close()
    for (queue, step, _key), length in zip(plan, lengths, strict=True):
        depth.add(length, queue=queue, priority=step)
    unacked.add(held)
    return [depth, unacked]


def _submission_families(now: datetime) -> list[Family]:
    phases = Family(
        "fromscratch_submissions",
        "gauge",
        "Submissions by phase (queued, running, graded, error) and queue, all time, from the database.",
    )
    counts = {(p, q): 0 for p in PHASES for q in (contract.QUEUE_CPU, contract.QUEUE_GPU)}
    for row in Submission.objects.order_by().values("status", "queue").annotate(n=Count("id")):
        counts[(row["status"], row["queue"] or "unknown")] = row["n"]
    for (phase, queue), n in sorted(counts.items()):
        phases.add(n, phase=phase, queue=queue)

    oldest = Family(
        "fromscratch_oldest_queued_seconds",
        "gauge",
        "Age of the oldest submission still queued, per queue (0 when none): a stuck queue grows it.",
    )
    ages = {contract.QUEUE_CPU: 0.0, contract.QUEUE_GPU: 0.0}
    queued = Submission.objects.filter(status=Submission.Status.QUEUED).order_by().values("queue")
    for row in queued.annotate(first=Min("created_at")):
        ages[row["queue"] or "unknown"] = round(max(0.0, (now - row["first"]).total_seconds()), 3)
    for queue, age in sorted(ages.items()):
        oldest.add(age, queue=queue)
    return [phases, oldest, _latency_family(now)]


def _latency_family(now: datetime) -> Family:
    """A histogram of the last hour, not a counter since start-up: read it with
    histogram_quantile() on the buckets as they are, not on rate() (they can go down)."""
    family = Family(
        "fromscratch_grading_latency_last_hour_seconds",
        "histogram",
        "Submit to result (result timing: queued_at to finished_at) of learners' submissions finished in the "
        "last hour, per queue and kind. Staff regrades are left out (their queued_at is the original submit).",
    )
    rows = (
        Submission.objects.filter(finished_at__gte=now - LATENCY_WINDOW, regrade__isnull=True)
        .annotate(q=KT("result__timing__queued_at"), f=KT("result__timing__finished_at"))
        .order_by()
        .values_list("queue", "kind", "q", "f")
    )
    series: dict[tuple, list[float]] = {}
    for queue, kind, queued_at, finished_at in rows:
        if not (queued_at and finished_at):
            continue  # a result the reaper wrote after the last try has no timing
        seconds = (datetime.fromisoformat(finished_at) - datetime.fromisoformat(queued_at)).total_seconds()
        series.setdefault((queue or "unknown", kind), []).append(max(0.0, seconds))
    for queue in (contract.QUEUE_CPU, contract.QUEUE_GPU):
        for kind in (k.value for k in Submission.Kind):
            series.setdefault((queue, kind), [])
    for (queue, kind), values in sorted(series.items()):
        for bound in (*LATENCY_BUCKETS, float("inf")):
            family.add(sum(1 for v in values if v <= bound), "_bucket", queue=queue, kind=kind, le=_le(bound))
        family.add(round(sum(values), 6), "_sum", queue=queue, kind=kind)
        family.add(len(values), "_count", queue=queue, kind=kind)
    return family


def _tutor_family() -> Family:
    family = Family(
        "fromscratch_tutor_tokens_total",
        "counter",
        "Tokens the tutor's model consumed (in: prompt, out: reply), all time, per provider and model.",
    )
    rows = Message.objects.filter(Q(tokens_in__gt=0) | Q(tokens_out__gt=0)).order_by().values("provider", "model")
    for row in rows.annotate(tin=Sum("tokens_in"), tout=Sum("tokens_out")):
        labels = {"provider": row["provider"] or "none", "model": row["model"] or "none"}
        family.add(row["tin"] or 0, direction="in", **labels)
        family.add(row["tout"] or 0, direction="out", **labels)
    return family


def scrape(*, now: datetime | None = None) -> str:
    now = now or timezone.now()
    return render([*_queue_families(), *_submission_families(now), _tutor_family()])
