"""`make test`: the whole suite in two pytest invocations (DESIGN.md §10):

1. everything but the browser tests (unit, integration with a real Celery worker, the sandbox,
   websockets, the flagship course's own test);
2. the browser tests (`-m e2e`), alone, because pytest-playwright's event loop breaks the async
   tests that would run after it.

REDIS_URL / DATABASE_URL select real servers when set (CI); otherwise the tests start a private
Redis and use SQLite. Any failure, and "no tests ran" (pytest exit 5), fails the run.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args, env):
    started = time.monotonic()
    print(f"\n$ pytest {' '.join(args)}", flush=True)
    code = subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env)
    print(f"(pytest exited {code} after {time.monotonic() - started:.0f} s)", flush=True)
    return code


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-e2e", action="store_true")
    parser.add_argument("--only-e2e", action="store_true")
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    results_dir = ROOT / "test-results"
    results_dir.mkdir(exist_ok=True)
    codes = []
    if not args.only_e2e:
        codes.append(run(["-m", "not e2e", *args.extra], env))
    if not args.no_e2e:
        if shutil.which("chromium") is None and not os.path.exists("/usr/bin/chromium"):
            print(
                "browser tests need Debian's chromium (apt-get install chromium); it is not installed", file=sys.stderr
            )
            codes.append(1)
        else:
            env["FS_E2E_OUTPUT"] = str(results_dir / "e2e")
            codes.append(run(["-m", "e2e", *args.extra], env))
    failed = [c for c in codes if c != 0]
    if failed:
        print(f"\nFAILED: pytest exit codes {codes} (5 means no tests ran, which counts as a failure)", file=sys.stderr)
        sys.exit(1)
    print(f"\nall {len(codes)} pytest run(s) passed")


if __name__ == "__main__":
    main()
