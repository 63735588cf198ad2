"""`python -m course_utils exercises`: nbgrader metadata (--update/--check) and learner versions (--learner)."""

import json

import nbformat
import pytest

from course_utils.tools import exercises_cli as cli

SOLUTION = '''def count_pairs(words):
    """Count adjacent symbol pairs."""
    ### BEGIN SOLUTION
    pairs = {}
    for w in words:
        for a, b in zip(w, w[1:]):
            pairs[a + b] = pairs.get(a + b, 0) + 1
    return pairs
    ### END SOLUTION'''

LEARNER = '''def count_pairs(words):
    """Count adjacent symbol pairs."""
    # YOUR CODE HERE
    raise NotImplementedError()'''

NESTED = '''def f(x):
    if x > 0:
        ### BEGIN SOLUTION
        return 1
        ### END SOLUTION
    return 0'''


def notebook(path, *cells):
    """A notebook of code cells (a str) and markdown cells (('md', text)), with outputs on code cells."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}
    for c in cells:
        if isinstance(c, tuple):
            nb.cells.append(nbformat.v4.new_markdown_cell(c[1]))
        else:
            cell = nbformat.v4.new_code_cell(c, execution_count=len(nb.cells) + 1)
            cell.outputs = [nbformat.v4.new_output("stream", text="out\n")]
            nb.cells.append(cell)
    nbformat.write(nb, str(path))
    return path


def test_strip_keeps_indentation_and_the_rest():
    assert cli.strip_solutions(SOLUTION) == LEARNER
    assert cli.strip_solutions(NESTED) == ("def f(x):\n    if x > 0:\n        # YOUR CODE HERE\n"
                                           "        raise NotImplementedError()\n    return 0")
    assert cli.check_cell(NESTED)  # inside an if inside a function is still a function body


@pytest.mark.parametrize("source, words", [
    ("x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION", "inside a function body"),
    ("def f():\n    pass\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION", "inside a function body"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1", "never closed"),
    ("def f():\n    return 1\n    ### END SOLUTION", "without a"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
     "    ### END SOLUTION", "inside another"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION", "exactly"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n### END SOLUTION", "same indentation"),
    ("def f(:\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", "not valid Python"),
])
def test_broken_regions_are_refused_clearly(source, words):
    with pytest.raises(cli.MarkerError, match=words):
        cli.check_cell(source, "nb.ipynb: cell 3")


def test_update_stamps_metadata_idempotently(tmp_path, capsys):
    path = notebook(tmp_path / "07_x.ipynb", ("md", "# t"), SOLUTION, 'cu.check("07.1", lambda: None)', "x = 1")
    assert cli.main(["--check", str(path)]) == 1  # not stamped yet
    assert "--update" in capsys.readouterr().err
    assert cli.main(["--update", str(path)]) == 0
    nb = nbformat.read(str(path), as_version=4)
    assert nb.cells[1].metadata["nbgrader"] == {"solution": True, "grade": False, "locked": False,
                                               "grade_id": "ex07_1", "schema_version": 3}
    assert all("nbgrader" not in c.metadata for i, c in enumerate(nb.cells) if i != 1)
    assert nb.cells[1].outputs  # outputs untouched
    stamped = path.read_bytes()
    assert cli.main(["--update", str(path)]) == 0 and path.read_bytes() == stamped
    assert cli.main(["--check", str(path)]) == 0


def test_update_removes_a_stale_stamp(tmp_path):
    path = notebook(tmp_path / "07_x.ipynb", SOLUTION)
    cli.main(["--update", str(path)])
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[0].source = "def count_pairs(words):\n    return {}"
    nbformat.write(nb, str(path))
    assert cli.main(["--check", str(path)]) == 1
    cli.main(["--update", str(path)])
    assert "nbgrader" not in nbformat.read(str(path), as_version=4).cells[0].metadata


def test_grade_ids_are_unique(tmp_path):
    nb = nbformat.read(str(notebook(tmp_path / "a.ipynb", SOLUTION, SOLUTION, 'check("07.2", f)')), as_version=4)
    ids = cli.grade_ids(nb)
    assert len(set(ids.values())) == 2 and ids[1] == "ex07_2" and ids[0].startswith("solution_")


def test_update_refuses_and_names_notebook_and_cell(tmp_path, capsys):
    path = notebook(tmp_path / "07_x.ipynb", "x = 1", "### BEGIN SOLUTION\ny = 2\n### END SOLUTION")
    before = path.read_bytes()
    assert cli.main(["--update", str(path)]) == 2
    err = capsys.readouterr().err
    assert "07_x.ipynb: cell 1" in err and "function body" in err
    assert path.read_bytes() == before
    md = notebook(tmp_path / "07_y.ipynb", ("md", "the answer is between ### BEGIN SOLUTION and the end"))
    assert cli.main(["--update", str(md)]) == 2
    assert "code cells" in capsys.readouterr().err


def test_update_needs_named_notebooks(capsys):
    assert cli.main(["--update"]) == 2
    assert "name them" in capsys.readouterr().err


def test_learner_version(tmp_path):
    path = notebook(tmp_path / "07_x.ipynb", ("md", "# title"), SOLUTION, 'cu.check("07.1", lambda: None)')
    out = tmp_path / "learner"
    assert cli.main(["--learner", str(out), str(path)]) == 0
    inst = nbformat.read(str(path), as_version=4)
    learn = nbformat.read(str(out / "07_x.ipynb"), as_version=4)
    assert learn.cells[1].source == LEARNER
    assert [c.source for c in learn.cells[::2]] == [c.source for c in inst.cells[::2]]
    assert [c.id for c in learn.cells] == [c.id for c in inst.cells]
    assert all(c.outputs == [] and c.execution_count is None for c in learn.cells if c.cell_type == "code")
    assert learn.cells[1].metadata["nbgrader"]["solution"] is True
    assert "BEGIN SOLUTION" not in json.dumps(learn)


def test_learner_refuses_to_overwrite_the_instructor_notebooks(tmp_path, capsys):
    path = notebook(tmp_path / "07_x.ipynb", SOLUTION)
    before = path.read_bytes()
    assert cli.main(["--learner", str(tmp_path), str(path)]) == 2
    assert "overwrite the solutions" in capsys.readouterr().err and path.read_bytes() == before


def test_committed_notebooks_are_up_to_date():
    """Every course notebook's markers follow the rules and its nbgrader metadata is stamped."""
    assert cli.main(["--check"]) == 0, "run: python -m course_utils exercises --update <the notebook named above>"
