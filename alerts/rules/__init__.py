"""The resonance rules, one module each: its query, its decision and the numbers it reports.

=========================== ================================================ ===========================
module                      fires when                                       runs
=========================== ================================================ ===========================
``escalation_terms``        a complaint names a regulator, media, the CEO    per tagged batch
``repeat_complainer``       one author complains again and again             per tagged batch
``copies_across_channels``  other authors copy one complaint                 per tagged batch
``recurring_problem``       different people make the same complaint         per tagged batch
``engagement_growth``       a negative story spreads far faster than usual   per batch and periodically
``negative_spike``          negative counts far above the same hours before  periodically
``index_drop``              the week's loyalty index fell                    periodically (hourly)
``volume_spike``            all mentions far above the same hours before     periodically (hourly, off)
=========================== ================================================ ===========================

A rule returns :class:`~alerts.lifecycle.Candidate` s: numbers (the evidence) and facts (what its wording
needs); :mod:`alerts.render` words them, :mod:`alerts.lifecycle` decides whether they open or update an
alert, and :mod:`alerts.engine` runs the rules. The SQL the rules share is :mod:`.queries`; the word sets
the two text rules compare are :mod:`.texts`. A new rule is a module here, a settings model in
:mod:`alerts.settings`, its texts in :mod:`alerts.render` and one call in the engine.
"""

from __future__ import annotations

__all__: list[str] = []
