"""record() in the kernel (front) and read_results() in the runners (tools) agree on one format."""

import nbformat
import numpy as np
import pytest

from course_utils import results
from course_utils.tools.notebooks import NotebookError, read_results


def test_plain_values():
    assert results._plain(np.float32(0.5)) == 0.5
    assert isinstance(results._plain(np.int64(3)), int)
    assert results._plain([np.float64(1.0), 2]) == [1.0, 2]
    assert results._plain(float("nan")) == "nan"


@pytest.mark.parametrize("bad", [{"a": 1}, object(), np.zeros(3)])
def test_refuses_values_a_table_cannot_hold(bad):
    with pytest.raises(TypeError):
        results.record("x", bad)


def test_refuses_bad_names():
    with pytest.raises(ValueError, match="identifiers"):
        results.record("test acc", 1.0)


def test_record_outside_a_notebook_keeps_the_value():
    results.record("answer", 42)
    assert results.recorded()["answer"] == 42


def test_front_module_does_not_read_notebooks():
    assert not hasattr(results, "read_results")  # the reader lives in course_utils.tools.notebooks


def _output(name, value):
    return nbformat.v4.new_output("display_data", data={results.MIME: {"name": name, "value": value}, "text/plain": "x"})


def test_read_results_from_an_executed_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    first, second = nbformat.v4.new_code_cell("a"), nbformat.v4.new_code_cell("b")
    first.outputs = [_output("acc", 0.9), _output("loss", 0.3), nbformat.v4.new_output("stream", text="hi")]
    second.outputs = [_output("acc", 0.95)]
    nb.cells = [first, nbformat.v4.new_markdown_cell("text"), second]
    path = tmp_path / "done.ipynb"
    nbformat.write(nb, str(path))
    got = read_results(path)
    assert got == {"acc": 0.95, "loss": 0.3} and list(got) == ["acc", "loss"]  # a later record wins, order kept


def test_read_results_of_a_broken_file_is_a_notebook_error(tmp_path):
    path = tmp_path / "torn.ipynb"
    path.write_text('{"cells": [')
    with pytest.raises(NotebookError, match="not a readable notebook"):
        read_results(path)
