"""The authoring workspace opens on the flagship course, a real and large course folder."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def flagship(db):
    from courses.format.tree import load
    from courses.services import version_import, version_publish

    tree, problems = load(ROOT / "content" / "zero-to-gpt")
    assert not problems, problems
    version, _ = version_import(tree=tree)
    version_publish(version=version)
    return version.course


def test_an_instructor_opens_a_flagship_lesson_in_the_workspace(client, make_user, flagship):
    from courses.services import membership_set_role

    teacher = make_user("teacher")
    membership_set_role(user=teacher, course=flagship, role="instructor")
    client.force_login(teacher)
    response = client.get(f"/courses/{flagship.slug}/author/?path=modules/01-autograd/lessons/01-derivatives.md")
    assert response.status_code == 200
    assert b"Derivatives" in response.content
