"""Command-line interface ``planner`` — a thin layer over the library.

Subcommands, one module each: ``coverage`` and ``demo`` (:mod:`planner.cli.coverage`),
``site`` (:mod:`planner.cli.site`), ``access`` (:mod:`planner.cli.access`), ``extract`` and ``check``
(:mod:`planner.cli.onboarding`), ``batch`` (:mod:`planner.cli.batch`). Each module's
``add_parser(subparsers)`` registers its parsers with ``set_defaults(func=run)``; ``run(args) -> int`` may raise
:class:`~planner.PlannerError`, printed as a clear message (in the chosen language) with
exit status 2 and no traceback; so is any other :class:`OSError` (a file system failure on a
path no reader or writer knew). Ctrl-C prints "interrupted" with status 130, also while the
work is stuck in C code (:mod:`planner.cli._interrupt`). Outputs are written atomically:
a failed or interrupted run leaves the previous outputs and no temporary files.

Language: ``--lang zh|en`` (before or after the subcommand), else the environment variable
``PLANNER_LANG``, else Chinese. It is set before any parser is built, so the help of
every subcommand, argparse's own words (:mod:`planner.cli._argparse`) and every message
after it follow it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from planner._atomic import remove_staging
from planner._errors import ConfigError, PlannerError
from planner.cli import access, batch, coverage, onboarding, site
from planner.cli._argparse import argparse_in_language
from planner.cli._interrupt import INTERRUPTED_STATUS, interrupt_guard, interrupted_message, write_stderr
from planner.i18n import DEFAULT_LANGUAGE, LANGUAGES, set_language, t

logger = logging.getLogger("planner")

#: Modules that add subcommands, in the order ``planner --help`` lists them.
SUBCOMMANDS = (coverage, site, access, onboarding, batch)
#: Log levels with a word of their own in each language (``cli.log.<level>``).
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
#: Environment variable choosing the language when ``--lang`` is not given.
LANG_ENV = "PLANNER_LANG"


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
        line = t("cli.log.line", level=word, message=text)  # t() makes a non-UTF-8 file name printable
        return f"{line} [{record.name}]" if self.names else line


def build_parser() -> argparse.ArgumentParser:
    """The argument parser in the active language (exposed for tests and docs)."""
    with argparse_in_language():
        parser = argparse.ArgumentParser(prog="planner", description=t("cli.description"))
        parser.add_argument("--lang", choices=list(LANGUAGES), default=None, help=t("cli.opt.lang", env=LANG_ENV))
        parser.add_argument("-v", "--verbose", action="count", default=0, help=t("cli.opt.verbose"))
        sub = parser.add_subparsers(
            dest="command", required=True, title=t("cli.commands"), metavar=t("cli.command_metavar")
        )
        for module in SUBCOMMANDS:
            module.add_parser(sub)
        for command in sub.choices.values():  # also accepted after the subcommand: planner coverage ... --lang en
            command.add_argument(
                "--lang", choices=list(LANGUAGES), default=argparse.SUPPRESS, help=t("cli.opt.lang", env=LANG_ENV)
            )
    return parser


def chosen_language(argv: Sequence[str], *, environ: Mapping[str, str] = os.environ) -> str:
    """The language the command line asks for: ``--lang``, else ``PLANNER_LANG``, else zh.

    An unknown ``--lang`` value is left to the parser to refuse (in the language of
    ``PLANNER_LANG`` or Chinese); an unknown ``PLANNER_LANG`` is an error.
    """
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--lang")
    known, _rest = early.parse_known_args([a for a in argv if a not in ("-h", "--help")])
    env = environ.get(LANG_ENV, "").strip().lower()
    if env and env not in LANGUAGES:
        raise ConfigError("cli.bad_lang_env", env=LANG_ENV, value=env)
    if known.lang in LANGUAGES:
        return str(known.lang)
    return env or DEFAULT_LANGUAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``planner`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):  # a terminal without Chinese (LANG=C, ascii) gets escapes, not a crash
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        set_language(chosen_language(argv))
    except ConfigError as exc:
        write_stderr(t("cli.error_prefix") + str(exc) + "\n")
        return 2
    parser = build_parser()
    with argparse_in_language():
        args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(LogFormatter(names=args.verbose >= 2))
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2) if args.verbose else logging.WARNING, handlers=[handler]
    )
    try:
        with interrupt_guard():
            return int(args.func(args))
    except PlannerError as exc:
        write_stderr(t("cli.error_prefix") + str(exc) + "\n")
        return 2
    except OSError as exc:  # not met on a known path (those are PlannerErrors): still a message, not a traceback
        write_stderr(t("cli.error_prefix") + system_error(exc) + "\n")
        return 2
    except KeyboardInterrupt:
        remove_staging()  # the writers' own cleanup ran while the exception unwound; this is a safety net
        write_stderr(interrupted_message() + "\n")
        return INTERRUPTED_STATUS


def system_error(exc: OSError) -> str:
    """The message for an :class:`OSError` no reader or writer turned into a PlannerError: the file and the reason."""
    name = exc.filename if exc.filename is not None else ""
    return t(
        "fault.system", file=os.fsdecode(name) if name else "-", reason=exc.strerror or str(exc) or type(exc).__name__
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
