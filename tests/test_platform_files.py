"""The deployment files (platform/Procfile, compose.yaml, k8s/*.yaml, Dockerfile) start what the
code provides: every command names a real entry point, every worker a queue of the contract
(gpu_runner/contract.py, so renaming a queue there breaks this), every process's settings start
with exactly the environment its file gives it, and GPU workers hold no database credentials.

No Docker daemon or Kubernetes cluster runs here: `kubectl create --dry-run=client` needs an API
server for discovery, so the manifests are parsed by `kubectl label --local` (no server) and their
structure is checked here; tools/scaleout.py runs the Procfile's processes for real."""

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from gpu_runner import contract
from tools.scaleout import read_procfile

ROOT = Path(__file__).resolve().parent.parent
PLATFORM = ROOT / "platform"
K8S = sorted((PLATFORM / "k8s").glob("*.yaml"))
QUEUES = {contract.QUEUE_CPU, contract.QUEUE_GPU, contract.QUEUE_GRADER}
RUNNER_SETTINGS = "config.settings.runner"


@dataclass
class Service:
    where: str
    argv: list
    env: dict = field(default_factory=dict)


def env_example() -> dict:
    pairs = (line.split("=", 1) for line in (PLATFORM / "env.example").read_text().splitlines())
    return {k.strip(): v.strip() for k, v in (p for p in pairs if len(p) == 2) if not k.startswith("#")}


def dockerfile_env() -> dict:
    for line in (PLATFORM / "Dockerfile").read_text().splitlines():
        if line.startswith("ENV "):
            return dict(pair.split("=", 1) for pair in shlex.split(line[4:]))
    return {}


def dockerfile_cmd() -> list:
    line = next(x for x in (PLATFORM / "Dockerfile").read_text().splitlines() if x.startswith("CMD "))
    return json.loads(line[4:])


def split_assignments(command: str) -> tuple[list, dict]:
    """`A=1 B= celery ...` -> (["celery", ...], {"A": "1", "B": ""}), as sh reads it."""
    argv, env = shlex.split(command), {}
    while argv and "=" in argv[0] and argv[0].split("=", 1)[0].isidentifier():
        key, value = argv.pop(0).split("=", 1)
        env[key] = value
    return argv, env


def procfile_services() -> list[Service]:
    services = []
    for name, command in read_procfile().items():
        argv, inline = (["sh", "-c", command], {}) if "&&" in command else split_assignments(command)
        # The Procfile's promise: every process gets the platform's environment, except a GPU
        # worker on the runner settings, which gets REDIS_URL alone.
        if inline.get("DJANGO_SETTINGS_MODULE") == RUNNER_SETTINGS:
            env = {"REDIS_URL": env_example()["REDIS_URL"]}
        else:
            env = {**dockerfile_env(), **env_example()}
        services.append(Service(f"Procfile {name}", argv, {**env, **inline}))
    return services


def compose_services() -> list[Service]:
    compose = yaml.safe_load((PLATFORM / "compose.yaml").read_text())
    services = []
    for name, spec in compose["services"].items():
        if "build" not in spec:
            continue  # postgres, redis: images of their own
        env = dict(dockerfile_env())
        env_files = spec.get("env_file", [])
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            assert env_file == ".env", f"compose {name}: env_file {env_file} is not the documented .env"
            env.update(env_example())  # .env is a copy of env.example
        env.update({k: str(v) for k, v in (spec.get("environment") or {}).items()})
        command = spec.get("command") or dockerfile_cmd()
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        services.append(Service(f"compose {name}", argv, env))
    return services


def k8s_documents() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in K8S for doc in yaml.safe_load_all(path.read_text()) if doc]


def k8s_services() -> list[Service]:
    services = []
    for path, doc in k8s_documents():
        if doc["kind"] != "Deployment":
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            env = dict(dockerfile_env())
            for source in container.get("envFrom", []):
                assert source["secretRef"]["name"] == "fromscratch-env", f"{path.name}: unknown secret {source}"
                env.update(env_example())  # the secret is made from env.example's variables
            for var in container.get("env", []):
                ref = (var.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    env[var["name"]] = env_example()[ref["key"]]
                elif "value" in var:
                    env[var["name"]] = var["value"]
            services.append(Service(f"k8s {path.name} {container['name']}", container["command"], env))
    return services


def all_services() -> list[Service]:
    return procfile_services() + compose_services() + k8s_services()


def option(argv: list, *names: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg in names and i + 1 < len(argv):
            return argv[i + 1]
    return None


def entry_points(service: Service) -> list[str]:
    """What the command starts, checked against the code; the kinds of process it is."""
    argv, where = service.argv, service.where
    if argv[:2] == ["sh", "-c"]:
        return [kind for part in argv[2].split("&&") for kind in entry_points(Service(where, shlex.split(part)))]
    if argv[0] == "gunicorn":
        assert argv[1] == "config.asgi:application", f"{where}: serves {argv[1]}"
        assert option(argv, "-k", "--worker-class") == "uvicorn_worker.UvicornWorker", where
        return ["web"]
    if argv[0] == "celery":
        assert option(argv, "-A", "--app") == "config", f"{where}: the Celery app is `config`"
        if "beat" in argv:
            return ["beat"]
        assert "worker" in argv, f"{where}: celery {argv[1:]}"
        queues = set(option(argv, "-Q", "--queues").split(","))
        assert queues <= QUEUES, f"{where}: consumes {queues - QUEUES}, not queues of gpu_runner/contract.py"
        return [f"worker:{q}" for q in sorted(queues)]
    if argv[:2] == ["python", "manage.py"]:
        assert argv[2] in {"migrate", "collectstatic"}, f"{where}: manage.py {argv[2]}"
        return ["release"]
    raise AssertionError(f"{where}: unknown entry point {argv}")


@pytest.mark.parametrize("source", ["Procfile", "compose", "k8s"])
def test_every_contract_queue_has_a_worker_and_every_command_a_real_entry_point(source):
    services = [s for s in all_services() if s.where.startswith(f"{source} ")]
    kinds = {kind for service in services for kind in entry_points(service)}
    assert {f"worker:{q}" for q in QUEUES} <= kinds, f"{source} leaves a queue without a worker: {kinds}"
    assert {"web", "beat"} <= kinds, kinds


def test_gpu_workers_run_one_job_at_a_time_without_database_credentials():
    gpu = [s for s in all_services() if f"worker:{contract.QUEUE_GPU}" in entry_points(s)]
    assert len(gpu) == 3, [s.where for s in gpu]  # Procfile, compose, k8s
    for service in gpu:
        assert option(service.argv, "-c", "--concurrency") == "1", service.where
        assert service.env["DJANGO_SETTINGS_MODULE"] == RUNNER_SETTINGS, service.where
        assert "DATABASE_URL" not in service.env, f"{service.where} holds database credentials"


def test_each_process_starts_its_settings_with_the_environment_its_file_gives_it():
    """Django and the entry point load in a clean environment holding only what the deployment
    file provides: a variable the settings require and the file forgets stops start-up here."""
    groups: dict[tuple, set] = {}
    for service in all_services():
        groups.setdefault(tuple(sorted(service.env.items())), set()).update(entry_points(service))
    for env_items, kinds in groups.items():
        imports = ["import django; django.setup()"]
        if "web" in kinds:
            imports.append("from config.asgi import application; import uvicorn_worker")
        if any(k.startswith("worker") or k == "beat" for k in kinds):
            imports.append("from config.celery import app; app.loader.import_default_modules()")
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **dict(env_items)}
        out = subprocess.run(
            [sys.executable, "-c", "; ".join(imports)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, f"{sorted(kinds)} with {sorted(dict(env_items))}: {out.stderr[-1500:]}"


def test_every_manifest_parses_and_kubectl_reads_the_same_objects():
    expected = []
    for _path, doc in k8s_documents():
        assert {"apiVersion", "kind", "metadata"} <= doc.keys() and doc["metadata"].get("name"), doc
        group = doc["apiVersion"].split("/")[0] if "/" in doc["apiVersion"] else ""
        expected.append(f"{doc['kind'].lower()}{'.' + group if group else ''}/{doc['metadata']['name']}")
        if doc["kind"] == "Deployment":
            spec = doc["spec"]
            labels = spec["template"]["metadata"]["labels"]
            assert spec["selector"]["matchLabels"].items() <= labels.items(), f"{doc['metadata']['name']}: selector"
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed (the YAML structure above was checked)")
    names = []
    for path in K8S:
        out = subprocess.run(
            ["kubectl", "label", "--local", "-f", str(path), "checked=yes", "-o", "name"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, f"kubectl cannot read {path.name}: {out.stderr}"
        names += out.stdout.split()
    assert names == expected


def test_gpu_workers_scale_on_the_depth_of_the_gpu_queue():
    from django.conf import settings

    from insights.metrics import broker_keys

    docs = {(d["kind"], d["metadata"]["name"]): d for _p, d in k8s_documents()}
    scaled = docs[("ScaledObject", "fromscratch-worker-gpu")]
    target = docs[("Deployment", scaled["spec"]["scaleTargetRef"]["name"])]
    container = target["spec"]["template"]["spec"]["containers"][0]
    assert option(container["command"], "-Q") == contract.QUEUE_GPU
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    lists = {step: key[len(prefix) :] for step, key in broker_keys(contract.QUEUE_GPU).items()}
    watched = [t["metadata"]["listName"] for t in scaled["spec"]["triggers"] if t["type"] == "redis"]
    # The same lists /metrics reports as fromscratch_queue_depth: learners' and staff batches'.
    assert watched == [lists[contract.PRIORITY_LEARNER], lists[contract.PRIORITY_BATCH]]
    for trigger in scaled["spec"]["triggers"]:
        docs_auth = docs[("TriggerAuthentication", trigger["authenticationRef"]["name"])]
        assert docs_auth["spec"]["secretTargetRef"], "KEDA needs the broker's address"
    assert scaled["spec"]["minReplicaCount"] >= 1  # a warm GPU worker is always there
    # A scale-down sends SIGTERM; Celery finishes the running job first if Kubernetes waits long enough.
    grace = target["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > settings.GRADER_MAX_WALL_SECONDS, grace


def test_production_requirements_give_the_web_server_a_websocket_library():
    """uvicorn without websockets or wsproto answers every websocket with 404 (found by
    tools/scaleout.py: the library was only in the test requirements)."""
    pinned = {
        line.split("==")[0].strip().lower() for line in (ROOT / "requirements" / "base.txt").read_text().splitlines()
    }
    assert {"uvicorn", "uvicorn-worker", "gunicorn"} <= pinned
    assert pinned & {"websockets", "wsproto"}


def test_production_cache_keys_live_under_the_instance_prefix():
    env = {
        "PATH": os.environ["PATH"],
        **env_example(),
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "FROMSCRATCH_KEY_PREFIX": "blue:",
    }
    code = "import django; django.setup(); from django.conf import settings; print(settings.CACHES['default']['KEY_PREFIX'])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "blue:fs"
