"""`python -m course_utils COMMAND ...`: one entry point for learners, instructors and CI."""

import sys
from importlib import import_module

COMMANDS = {
    "run": ("course_utils.tools.run", "execute notebooks with papermill and print a results table"),
    "batch": ("course_utils.tools.batch", "run one notebook over a grid of parameters and seeds"),
    "data": ("course_utils.tools.data_cli", "fetch, verify or locate the course's data (fetch|verify|where)"),
    "doctor": ("course_utils.tools.doctor", "print versions, device, data and settings to paste when asking for help"),
    "grade": ("course_utils.tools.grade", "instructors: EXECUTE students' notebooks (own kernel, timeout) and tabulate their checks"),
    "exercises": ("course_utils.tools.exercises_cli", "learner versions without solutions; nbgrader metadata (--learner|--update|--check)"),
    "pretrain": ("course_utils.tools.pretrain", "instructors: pretrain chapter 07's GPT once (torchrun -m course_utils.tools.pretrain for N processes)"),
    "colab": ("course_utils.tools.colab_cells", "maintainers: update or check the Colab badges and set-up cells"),
}


def usage() -> str:
    lines = ["usage: python -m course_utils COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<9} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines.append("\n`python -m course_utils COMMAND --help` shows a command's options.")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return int(import_module(COMMANDS[name][0]).main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
