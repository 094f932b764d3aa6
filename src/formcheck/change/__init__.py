"""Change over time: is a difference between sessions, or within one run, more than noise?

* :mod:`formcheck.change.mdc`: each metric's standard error and minimal detectable change
  (MDC95) from the clip's own steps, and the published between-session floors
  (``change.toml``).
* :mod:`formcheck.change.compare`: two or more report folders, ordered by recording date:
  values, changes, verdicts ("changed" only beyond the MDC) and fairness warnings.
* :mod:`formcheck.change.drift`: one run cut into time windows: each key metric's trend with
  its confidence interval and a verdict in the same terms.
* :mod:`formcheck.change.html`: compare.html (self-contained); its drift plots, like
  report.html's, come from :mod:`formcheck.report.drift_plot`.
* :mod:`formcheck.change.command`: the ``formcheck compare`` click command.

Everything here reads report.json documents (and steps.csv), never the pipeline's
internals, so it works on report folders written by any run.
"""
