"""User-facing failures: one exception type per cause, each with its own exit code.

The CLI prints ``formcheck: error: <file>: <cause>. <what to do>`` on one line of stderr and
exits with :attr:`FormcheckError.exit_code`.  The table is repeated in the README.

====  ==========================  ====================================================
code  exception                   meaning
====  ==========================  ====================================================
0     -                           success (batch: every recording succeeded)
1     (unexpected)                a bug: please report it (a traceback is printed)
2     UsageError (click)          bad command-line usage
3     InputNotFoundError          the input path does not exist or is not a file
4     NotAVideoError              the file is not a video (text, image, audio-only ...)
5     CorruptVideoError           the video cannot be decoded (truncated, damaged, no frames)
6     NoRunnerError               no person was found in (enough of) the clip
7     OutputExistsError           the output folder holds results; pass --force
8     RulesError                  the rules file is invalid
9     ModelError                  the pose model cannot be loaded
10    BatchFailuresError          batch finished, but at least one recording failed
130   KeyboardInterrupt           interrupted; nothing half-written is left
====  ==========================  ====================================================
"""

from __future__ import annotations


class FormcheckError(Exception):
    """Base class: a failure the user can act on. ``str(err)`` is the one-line message."""

    exit_code = 1

    def __init__(self, message: str, path: object | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)


class InputNotFoundError(FormcheckError):
    exit_code = 3


class NotAVideoError(FormcheckError):
    exit_code = 4


class CorruptVideoError(FormcheckError):
    exit_code = 5


class NoRunnerError(FormcheckError):
    exit_code = 6


class OutputExistsError(FormcheckError):
    exit_code = 7


class ModelError(FormcheckError):
    exit_code = 9


class BatchFailuresError(FormcheckError):
    exit_code = 10
