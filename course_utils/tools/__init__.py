"""The instructor's and maintainer's tools, behind the learner's helpers.

Nothing in a chapter imports from here, and nothing outside this folder does either: these
modules sit on top of the package and import downwards only. Each is reached as a command,
`python -m course_utils COMMAND` (see course_utils/__main__.py):

    run       run.py          execute notebooks with papermill, one table of their results
    batch     batch.py        one notebook over a grid of parameters and seeds
    data      data_cli.py     fetch, verify or locate the datasets
    doctor    doctor.py       versions, device, data and settings, to paste when asking for help
    colab     colab_cells.py  keep the Colab badges and set-up cells up to date

notebooks.py reads and writes notebooks (nbformat), their parameters (papermill's inspection)
and the results they recorded; execute.py runs one notebook in isolation.
"""
