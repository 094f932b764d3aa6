"""formcheck: running-form analysis from ordinary video.

Pipeline: video -> pose (MediaPipe BlazePose) -> signals -> view -> events -> metrics -> rules
-> reports.  The shared entry point is :func:`formcheck.api.analyze`.
"""

__version__ = "0.1.0"
