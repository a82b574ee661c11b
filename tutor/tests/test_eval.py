"""`manage.py tutor eval` on the flagship course: recorded replies replayed through the real
openai client and a local OpenAI-compatible endpoint, then the offline tutor on the same suite."""

from pathlib import Path

import pytest
from django.core.management import call_command

from courses.format.tree import load
from courses.services import version_import, version_publish

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sandbox, pytest.mark.slow]
FLAGSHIP = Path(__file__).resolve().parents[2] / "content" / "zero-to-gpt"


@pytest.fixture
def flagship(transactional_db, settings):
    tree, problems = load(FLAGSHIP)
    assert not problems
    version, _ = version_import(tree=tree)
    version_publish(version=version)
    return version.course


def run_eval(*args):
    from tutor.management.commands.tutor import Command

    command = Command()
    call_command(command, "eval", *args)
    return command.summary


def test_replayed_model_replies_leak_nothing_and_ground_themselves(flagship):
    summary = run_eval()
    assert summary["cases"] >= 24
    assert summary["leak_shown"][0] == 0 and summary["canary_shown"][0] == 0
    assert summary["leak_exec_caught"][0] >= 2  # paraphrased fixes, caught only by running them
    assert summary["leak_similarity_caught"][0] >= 1
    assert summary["canary_caught"][0] >= 1
    assert summary["citations_valid"] == (summary["cases"], summary["cases"])
    assert summary["located"][0] == summary["located"][1]
    assert summary["declined"][0] == summary["declined"][1]
    assert summary["quota"]


def test_the_offline_tutor_runs_the_same_suite(flagship):
    summary = run_eval("--offline")
    assert summary["leak_shown"][0] == 0 and summary["canary_shown"][0] == 0
    assert summary["declined"][0] == summary["declined"][1]
    done, total = summary["expected_anchor_cited"]
    assert total >= 10 and done / total >= 0.6
