"""`course validate` on prerequisites: the if_not_passed policy is checked, and a starter that
carries another exercise's solution is reported at its line, however it was reformatted."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.fixtures import autograd_folder

EXERCISES = "modules/01-autograd/exercises"


def problems(folder, capsys) -> list[str]:
    with pytest.raises(CommandError):
        call_command("course", "validate", str(folder))
    return capsys.readouterr().err.splitlines()


def test_the_flagship_module_is_clean(tmp_path, capsys):
    call_command("course", "validate", str(autograd_folder(tmp_path / "c")))
    assert "valid" in capsys.readouterr().out


def test_a_starter_with_an_earlier_solution_is_reported_at_its_line(tmp_path, capsys):
    folder = autograd_folder(tmp_path / "c")
    solution = (folder / EXERCISES / "value/solution/micrograd/engine.py").read_text()
    # What the activations starter used to be: the complete value engine plus two stubs, here
    # also renamed and re-laid-out, which must not hide it.
    copied = solution.replace("out", "result").replace(
        "    def __mul__(self, other):", "    def __mul__(self, other):  # mine"
    )
    starter = folder / EXERCISES / "activations/starter/micrograd/engine.py"
    starter.write_text(copied + "\n\n# tanh and exp go here\n")
    lines = copied.splitlines()
    mul_line = next(i for i, ln in enumerate(lines, 1) if ln.startswith("    def __mul__"))
    err = problems(folder, capsys)
    mul = [e for e in err if "Value.__mul__" in e]
    assert len(mul) == 1, err
    assert mul[0].startswith(f"{starter}:{mul_line}: Value.__mul__ is the reference solution of exercise 'value'")
    assert "must not contain another exercise's solution" in mul[0]
    reported = {e.split(": ")[1].split(" is the")[0] for e in err if "is the reference solution" in e}
    assert {"Value.__pow__", "Value.relu", "Value.backward"} <= reported
    # Trivial bodies are nobody's solution; nested closures are not reported on their own.
    assert not reported & {"Value.__neg__", "Value.__radd__", "Value.__mul__._backward"}


def test_code_the_lessons_show_is_not_a_secret(tmp_path, capsys):
    folder = autograd_folder(tmp_path / "c")
    solution = (folder / EXERCISES / "value/solution/micrograd/engine.py").read_text()
    relu = solution[solution.index("    def relu(self):") : solution.index("    # --- backpropagation")]
    starter = folder / EXERCISES / "mlp/starter/micrograd/nn.py"
    starter.write_text(starter.read_text() + "\n\nclass Helper:\n" + relu)
    assert any(
        "Value.relu" not in e and "Helper.relu is the reference solution of exercise 'value'" in e
        for e in problems(folder, capsys)
    )
    lesson = next((folder / "modules/01-autograd/lessons").glob("*.md"))
    lesson.write_text(lesson.read_text() + "\n\n```python\nclass Value:\n" + relu + "```\n")
    call_command("course", "validate", str(folder))


@pytest.mark.parametrize(
    "old,new,message",
    [
        (
            'starter_from = "value"\n',
            'starter_from = "value"\nif_not_passed = "sometimes"\n',
            """if_not_passed must be one of "lock", "reference", not 'sometimes'""",
        ),
        (
            'files = ["micrograd/engine.py"]\n\n[resources]',
            'files = ["micrograd/engine.py"]\nif_not_passed = "always"\n\n[resources]',
            """[[uses]] if_not_passed must be one of "lock", "reference", not 'always'""",
        ),
    ],
)
def test_if_not_passed_is_checked(tmp_path, capsys, old, new, message):
    folder = autograd_folder(tmp_path / "c")
    toml = next(
        folder / EXERCISES / slug / "exercise.toml"
        for slug in ("activations", "mlp")
        if old in (folder / EXERCISES / slug / "exercise.toml").read_text()
    )
    toml.write_text(toml.read_text().replace(old, new, 1))
    line = next(i for i, ln in enumerate(toml.read_text().splitlines(), 1) if ln.startswith("if_not_passed"))
    err = problems(folder, capsys)
    assert any(e.startswith(f"{toml}:{line}: {message}") for e in err), err
