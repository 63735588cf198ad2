"""Build tiny notebooks at test time (no data files are committed for tests)."""

import nbformat


def make_notebook(path, parameters_src: str, *bodies: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
                   "language_info": {"name": "python"}}
    params = nbformat.v4.new_code_cell(parameters_src)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test notebook"), params]
    nb.cells += [nbformat.v4.new_code_cell(body) for body in bodies]
    nbformat.write(nb, str(path))
    return path
