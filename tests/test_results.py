import json

import numpy as np
import pytest

from course_utils import results


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


def test_read_results_from_an_executed_notebook(tmp_path):
    def out(name, value):
        return {"output_type": "display_data", "metadata": {},
                "data": {results.MIME: {"name": name, "value": value}, "text/plain": "x"}}
    nb = {"cells": [{"cell_type": "code", "outputs": [out("acc", 0.9), out("loss", 0.3)]},
                    {"cell_type": "markdown"},
                    {"cell_type": "code", "outputs": [out("acc", 0.95)]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "done.ipynb"
    path.write_text(json.dumps(nb))
    assert results.read_results(path) == {"acc": 0.95, "loss": 0.3}
