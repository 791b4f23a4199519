"""The QA checks behind ``modelqa check``.

A check is config -> calculation -> result: a frozen ``CheckConfig`` (name, parameters,
thresholds), a function registered with ``registry.register`` that computes on a shared
``CheckContext`` (the inputs read once), and frozen ``CheckResult`` rows. The verdict
(pass / warn / fail) is decided in one place, ``verdict.decide``, never by a check.
Families live one module each: integrity, leakage, drift, label_issues, slices,
performance, regression, windows, behaviour.
"""
