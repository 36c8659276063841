"""The one error type that decides an exit code: a name the user gave that matches nothing.

    UnknownName(ValueError)    a lab, node, role, learner or build task named on the command line (or in
                               the app's form) that is not there; the message lists what is

The CLI's rule (README, "Exit codes"): 2 when the command line itself is wrong and nothing ran (an
unknown command or option, a bad value, an unknown name), 1 when the command ran and its answer is no
(a lab or quiz not passed) or the data it needs is not usable (a busy or damaged database, a broken file).
Other layers raise their own errors; only this class marks "the user named something that is not there".
"""

from __future__ import annotations


class UnknownName(ValueError):
    """A lab, node, role, learner or build task the user named that is not there (exit code 2)."""
