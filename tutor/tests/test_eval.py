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


@pytest.mark.timeout(900)  # every case grades its mutant for real in the sandbox
def test_replayed_model_replies_leak_nothing_and_ground_themselves(flagship):
    summary = run_eval("--suite", "recorded")
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


@pytest.mark.timeout(900)
def test_a_model_leaking_in_every_code_form_and_canary_disguise_shows_nothing(flagship):
    """The leaking model of tutor/eval/leaky.py, through the same local endpoint and client."""
    from tutor.eval import leaky

    summary = run_eval("--suite", "leaky")
    forms = len(leaky.CODE_FORMS) + len(leaky.LINE_FORMS)
    assert summary["cases"] == forms + len(leaky.CANARY_FORMS)
    assert summary["leak_forms_shown"] == (0, forms)
    assert summary["canary_forms_shown"] == (0, len(leaky.CANARY_FORMS))
    assert summary["streamed_clean"] == (summary["cases"], summary["cases"])
    assert summary["canary_caught"][0] == len(leaky.CANARY_FORMS)
    # The rewritten fix in each block form is caught only by running it: the check ran for each
    # (but in the unclosed fence, which holds both versions in one block, similarity is enough).
    assert summary["leak_exec_caught"][0] >= len(leaky.CODE_FORMS) - 1
