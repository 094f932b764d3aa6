"""User-facing failures: one exception type per cause, each with its own exit code.

The CLI prints ``formcheck: error: <file>: <cause>; <what to do>`` on one line of stderr
(never a traceback) and exits with :attr:`FormcheckError.exit_code`.  Whatever the failure,
no half-written output folder is left behind and the input is never modified.  The table is
repeated in ``docs/errors.md`` and the README.

====  ==========================  ====================================================
code  exception                   meaning
====  ==========================  ====================================================
0     -                           success (batch: every recording succeeded)
1     (unexpected)                a bug: please report it (FORMCHECK_DEBUG=1 shows the
                                  traceback)
2     UsageError (click),         bad command-line usage; a batch that cannot start
      BatchSetupError             (bad manifest, Dask missing, scheduler unreachable)
3     InputNotFoundError          the input path does not exist, is a folder or cannot
                                  be read
4     NotAVideoError              the file is not a video (text, image, audio-only ...)
5     CorruptVideoError           the video cannot be decoded (truncated before its
                                  index, damaged header, no frames)
6     NoRunnerError               no person was found in (enough of) the clip
7     OutputExistsError           the output folder holds results; pass --force
8     RulesError                  the rules file is invalid
9     ModelError                  the pose model cannot be loaded
10    BatchFailuresError          batch finished, but at least one recording failed
11    OutputWriteError            the output cannot be written (permission, read-only
                                  or full disk)
12    PoseFileError               the ``--pose`` landmarks file is not a formcheck
                                  landmarks.npz or does not match the video
13    ReportFolderError           the folder given to ``export`` is not a formcheck report
                                  folder (report.json missing or invalid, or not
                                  matching its landmarks.npz)
130   KeyboardInterrupt           interrupted (Ctrl-C); nothing half-written is left
143   SIGTERM                     terminated; nothing half-written is left
====  ==========================  ====================================================

A video that is damaged part-way (cut short with its index intact, a few corrupt packets)
is not an error: the frames that decode are analysed (see ``docs/errors.md``).
"""

from __future__ import annotations

#: Exit code for Ctrl-C (SIGINT), the shell convention 128 + 2.
EXIT_INTERRUPTED = 130
#: Exit code for SIGTERM, the shell convention 128 + 15.
EXIT_TERMINATED = 143
#: Exit code for an invalid rules file (:class:`RulesError`).
EXIT_RULES = 8
#: Exit code for an unexpected failure (a bug).
EXIT_BUG = 1


class FormcheckError(Exception):
    """Base class: a failure the user can act on. ``str(err)`` is the one-line message,
    ``<path>: <message>`` when a path is given."""

    exit_code = EXIT_BUG

    def __init__(self, message: str, path: object | None = None) -> None:
        self.path = None if path is None else str(path)
        self.message = " ".join(str(message).split())  # one line, whatever the cause said
        super().__init__(f"{self.path}: {self.message}" if self.path else self.message)


class InputNotFoundError(FormcheckError):
    """The input path does not exist, is a folder, or cannot be read (exit 3)."""

    exit_code = 3


class NotAVideoError(FormcheckError):
    """The file is readable but holds no video: text, a still image, audio only (exit 4)."""

    exit_code = 4


class CorruptVideoError(FormcheckError):
    """The file looks like a video but no frame can be decoded (exit 5)."""

    exit_code = 5


class NoRunnerError(FormcheckError):
    """No person was found in (enough of) the clip (exit 6)."""

    exit_code = 6


class OutputExistsError(FormcheckError):
    """The output folder already holds results and ``--force`` was not given (exit 7)."""

    exit_code = 7


class RulesError(FormcheckError, ValueError):
    """A rules file that cannot be read or does not follow the schema (exit 8).

    Raised by :func:`formcheck.rules.load_rules` (and importable from there) with a one-line
    message naming the file, the rule and the key; a ``ValueError`` too, as it always was."""

    exit_code = EXIT_RULES


class ModelError(FormcheckError):
    """The pose model bundle is missing or cannot be loaded (exit 9)."""

    exit_code = 9


class BatchFailuresError(FormcheckError):
    """A batch finished but at least one recording failed (exit 10)."""

    exit_code = 10


class BatchSetupError(FormcheckError):
    """A batch that cannot start: bad manifest, Dask missing, scheduler unreachable.

    These are command-line usage problems, so they share click's exit code 2."""

    exit_code = 2


class OutputWriteError(FormcheckError):
    """The output cannot be written: no permission, read-only or full disk (exit 11)."""

    exit_code = 11


class PoseFileError(FormcheckError):
    """A ``--pose`` landmarks file that is not a formcheck ``landmarks.npz`` or was made
    from another video (exit 12)."""

    exit_code = 12


class ReportFolderError(FormcheckError):
    """The folder is not a formcheck report folder: report.json missing, unreadable, or not
    matching its landmarks.npz (``formcheck export``)."""

    exit_code = 13


class Terminated(KeyboardInterrupt):
    """Raised by the CLI's SIGTERM handler so that the same clean-up as for Ctrl-C runs
    (exit 143)."""


#: Every documented exit code, for tests and docs.
EXIT_CODES: dict[int, str] = {
    0: "success",
    EXIT_BUG: "unexpected failure (a bug)",
    2: "usage error",
    InputNotFoundError.exit_code: "input not found",
    NotAVideoError.exit_code: "not a video",
    CorruptVideoError.exit_code: "video cannot be decoded",
    NoRunnerError.exit_code: "no runner found",
    OutputExistsError.exit_code: "output exists",
    EXIT_RULES: "invalid rules file",
    ModelError.exit_code: "pose model cannot be loaded",
    BatchFailuresError.exit_code: "some batch recordings failed",
    OutputWriteError.exit_code: "output cannot be written",
    PoseFileError.exit_code: "invalid landmarks file",
    ReportFolderError.exit_code: "not a report folder",
    EXIT_INTERRUPTED: "interrupted",
    EXIT_TERMINATED: "terminated",
}
