"""Command-line interface ``planner`` — a thin layer over the library.

Subcommands, one module each: ``coverage`` and ``demo`` (:mod:`planner.cli.coverage`),
``site`` (:mod:`planner.cli.site`), ``extract`` and ``check``
(:mod:`planner.cli.onboarding`). Each module's ``add_parser(subparsers)`` registers its
parsers with ``set_defaults(func=run)``; ``run(args) -> int`` may raise
:class:`~planner.PlannerError`, printed as a clear message (in the chosen language) with
exit status 2 and no traceback. Outputs are written atomically.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from planner._errors import PlannerError
from planner.cli import coverage, onboarding, site
from planner.i18n import set_language, t

logger = logging.getLogger("planner")

#: Modules that add subcommands, in the order ``planner --help`` lists them.
SUBCOMMANDS = (coverage, site, onboarding)
#: Log levels with a word of their own in each language (``cli.log.<level>``).
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class LogFormatter(logging.Formatter):
    """Log lines in the chosen language: ``警告：message`` / ``warning: message``.

    The level word comes from i18n at format time; the logger's name (``planner.workspace…``)
    is added only at ``-vv``, for developers.
    """

    def __init__(self, *, names: bool = False) -> None:
        super().__init__()
        self.names = names

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line (plus a traceback, if any) in the chosen language."""
        level = record.levelname.lower()
        word = t(f"cli.log.{level}") if level in LOG_LEVELS else record.levelname
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        line = t("cli.log.line", level=word, message=text)
        return f"{line} [{record.name}]" if self.names else line


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="planner", description=t("cli.description"))
    parser.add_argument("--lang", choices=["zh", "en"], default=None, help="message language (default zh)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``planner`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--lang" in argv:
        i = argv.index("--lang")
        if i + 1 < len(argv) and argv[i + 1] in ("zh", "en"):
            set_language(argv[i + 1])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.lang:
        set_language(args.lang)
    handler = logging.StreamHandler()
    handler.setFormatter(LogFormatter(names=args.verbose >= 2))
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2) if args.verbose else logging.WARNING, handlers=[handler]
    )
    try:
        return int(args.func(args))
    except PlannerError as exc:
        sys.stderr.write(t("cli.error_prefix") + str(exc) + "\n")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
