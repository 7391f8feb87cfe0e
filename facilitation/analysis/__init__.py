"""Live analysis: the clustering library connected to running meetings (see scheduler.py for the design).

``AnalysisScheduler()`` is created by the app's lifespan when ``FACILITATION_ANALYSIS`` is on; its
``attach`` is the hub's analysis factory.
The messages it sends are documented in docs/protocol.md, "Live analysis".
"""

from facilitation.analysis.scheduler import AnalysisScheduler, results_shown

__all__ = ["AnalysisScheduler", "results_shown"]
