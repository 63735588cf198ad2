"""`python -m course_utils COMMAND ...`: one entry point for learners, instructors and CI."""

import sys
from importlib import import_module

COMMANDS = {
    "run": ("course_utils.runner", "execute notebooks with papermill and print a results table"),
    "data": ("course_utils.data.cli", "fetch, verify or locate MNIST and IMDb (fetch|verify|where)"),
    "batch": ("course_utils.batch", "run one notebook over a grid of parameters and seeds"),
    "doctor": ("course_utils.doctor", "print versions, device, data and settings to paste when asking for help"),
}


def usage() -> str:
    lines = ["usage: python -m course_utils COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, (_, help_) in COMMANDS.items()]
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
