"""What every command shares: the guard that turns any failure into one stderr line and its
documented exit code (:func:`run_guarded`), and the click options of the analysis settings
and outputs, defined once for ``formcheck analyze`` and ``formcheck batch``.

Both :mod:`formcheck.cli` and :mod:`formcheck.batch.command` import this module; it imports
neither, so the commands do not depend on each other.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any

import click

from formcheck.errors import (
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    FormcheckError,
    Terminated,
)

# --------------------------------------------------------------------------------------------
# The guard


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(msg: str, code: int) -> None:
    """Print ``formcheck: error: MSG`` as one stderr line and exit with ``code``."""
    try:
        click.echo(f"formcheck: error: {_one_line(msg)}", err=True)
    finally:
        sys.exit(code)


def _raise_terminated(signum: int, frame: object) -> None:
    """SIGTERM/SIGHUP handler: unwind like Ctrl-C so every clean-up (staged output folders,
    open containers) runs."""
    raise Terminated(f"signal {signum}")


def install_signal_handlers() -> dict[int, Any]:
    """Make SIGTERM (and SIGHUP, a closed terminal) raise :class:`Terminated`, a
    KeyboardInterrupt, so ``with``/``finally`` clean-ups run as for Ctrl-C.  Returns the
    previous handlers (only the main thread can install handlers; elsewhere nothing is
    changed)."""
    old: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            old[sig] = signal.signal(sig, _raise_terminated)
        except (ValueError, OSError):  # not the main thread / not supported
            pass
    return old


def _restore_signal_handlers(old: dict[int, Any]) -> None:
    for sig, handler in old.items():
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError, TypeError):
            pass


def run_guarded(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; turn every failure into one stderr line and its documented exit code
    (see :mod:`formcheck.errors`; an invalid rules file is a :class:`RulesError`, exit 8).
    No traceback reaches the user unless FORMCHECK_DEBUG is set; SIGTERM is handled like
    Ctrl-C so staged outputs are removed."""
    old = install_signal_handlers()
    try:
        return fn(*args, **kwargs)
    except FormcheckError as exc:
        _fail(str(exc), exc.exit_code)
    except Terminated:
        _fail("terminated; no partial output was left", EXIT_TERMINATED)
    except KeyboardInterrupt:
        _fail("interrupted; no partial output was left", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # stdout was closed early (e.g. piped into 'head'): not an error worth a message
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        sys.exit(141)
    except MemoryError:
        _fail("out of memory; analyse a shorter part of the clip with --start/--end, or "
              "close other programs", EXIT_BUG)
    except click.exceptions.Exit:
        raise
    except click.ClickException as exc:  # a usage problem found once the input is known
        _fail(exc.format_message(), exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - last resort: never a bare traceback
        if os.environ.get("FORMCHECK_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        _fail(f"internal error ({type(exc).__name__}: {first}); set FORMCHECK_DEBUG=1 for "
              "the traceback and please report it", EXIT_BUG)
    finally:
        _restore_signal_handlers(old)


# --------------------------------------------------------------------------------------------
# Options shared by 'analyze' and 'batch'

#: Values the command line (and a batch manifest's columns) accept for the overrides.
CHOICES: dict[str, tuple[str, ...]] = {
    "view": ("side", "front", "back", "oblique"),
    "direction": ("left", "right"),
    "setting": ("treadmill", "overground", "pan"),
    "gait": ("running", "walking"),
}

MODEL = click.option("--model", type=click.Path(), default=None,
                     help="Pose model bundle (.task); default: the one shipped with formcheck.")
SLOWMO = click.option("--slowmo", type=click.FloatRange(min=0.01), default=1.0,
                      show_default=True,
                      help="Slow-motion factor of the clip (e.g. 4 for 120 fps played at 30).")
VIEW = click.option("--view", type=click.Choice(CHOICES["view"]), default=None,
                    help="Override the detected camera view.")
DIRECTION = click.option("--direction", type=click.Choice(CHOICES["direction"]), default=None,
                         help="Override the direction the runner faces in the image (side "
                         "view).")
SETTING = click.option("--setting", type=click.Choice(CHOICES["setting"]), default=None,
                       help="Override treadmill/overground; 'pan': the camera pans or travels "
                       "to follow the runner (no speed).")
GAIT = click.option("--gait", type=click.Choice(CHOICES["gait"]), default=None,
                    help="Override running/walking.")
HEIGHT = click.option("--height", type=click.FloatRange(min=50, max=250), default=None,
                      help="Runner's height in cm: the image scale for speed, step length "
                      "and vertical oscillation in metres/cm.")
SCALE = click.option("--scale", "scale", type=click.FloatRange(min=1.0, max=100000.0),
                     default=None, metavar="PX_PER_M",
                     help="Image scale at the runner in pixels per metre (wins over "
                     "--height).")
class RollType(click.ParamType):
    """``--camera-roll``: "auto" (None: measured from the ground line) or degrees."""

    name = "auto|DEG"

    def convert(self, value: Any, param: Any, ctx: Any) -> float | None:
        if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
            return None
        try:
            deg = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is neither 'auto' nor a number of degrees", param, ctx)
        if not -45.0 <= deg <= 45.0:
            self.fail(f"{deg:g} deg is not a camera roll (give -45 to 45)", param, ctx)
        return deg


CAMERA_ROLL = click.option("--camera-roll", "camera_roll", type=RollType(), default="auto",
                           show_default=True,
                           help="The camera's roll in degrees (+ = picture turned clockwise) "
                           "that the angles are corrected for; 'auto' measures it from the "
                           "ground line (static camera), 0 turns the correction off (an "
                           "inclined treadmill or a hill reads as roll: 1 % grade = 0.57 deg).")
RULES = click.option("--rules", type=click.Path(), default=None,
                     help="Rules TOML overriding the packaged thresholds and advice.")
MAX_PEOPLE = click.option("--max-people", type=click.IntRange(1, 5), default=4,
                          show_default=True,
                          help="People the model may find per frame; the runner is chosen "
                          "among them (1 skips the census of everyone: about 1.4x faster, but "
                          "sees nobody else).")
NO_VIDEO = click.option("--no-video", is_flag=True,
                        help="Do not write annotated.mp4 (much faster).")
NO_HTML = click.option("--no-html", is_flag=True, help="Do not write report.html.")
MAX_SIZE = click.option("--max-size", type=click.IntRange(240, 4320), default=1080,
                        show_default=True, help="Longest side of annotated.mp4 (px).")

#: The analysis settings (each becomes a :class:`formcheck.api.Options` field, see
#: :func:`analysis_fields`).
ANALYSIS_OPTIONS = (MODEL, SLOWMO, VIEW, DIRECTION, SETTING, GAIT, HEIGHT, SCALE, CAMERA_ROLL,
                    RULES, MAX_PEOPLE)
#: What to write besides report.json, metrics.json and steps.csv.
OUTPUT_OPTIONS = (NO_VIDEO, NO_HTML, MAX_SIZE)


def apply(*opts: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """One decorator applying click options in the order given (as listed in --help)."""
    def deco(f: Any) -> Any:
        for o in reversed(opts):
            f = o(f)
        return f
    return deco


def analysis_fields(kw: Mapping[str, Any]) -> dict[str, Any]:
    """:class:`formcheck.api.Options` fields from the values of :data:`ANALYSIS_OPTIONS`."""
    from formcheck.api import DEFAULT_NUM_POSES

    return {"model": kw.get("model"), "slowmo": kw.get("slowmo") or 1.0,
            "view": kw.get("view"), "direction": kw.get("direction"),
            "setting": kw.get("setting"), "gait": kw.get("gait"),
            "height_cm": kw.get("height"), "scale_px_per_m": kw.get("scale"),
            "camera_roll_deg": kw.get("camera_roll"), "rules": kw.get("rules"),
            "num_poses": kw.get("max_people") or DEFAULT_NUM_POSES}
