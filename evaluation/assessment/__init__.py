"""Single-visit assessment: one patient's walk(s), a trained model bundle, and a clinician's report.

:func:`assess` (``python -m evaluation.assess``) reads the walk(s), preprocesses and measures them exactly as
the bundle's training clips were (:mod:`~evaluation.assessment.measure`), applies every bundled model and
its fold ensemble, explains the prediction with evidence statements and Grad-CAM
(:mod:`~evaluation.assessment.predict`), and returns an :class:`Assessment` whose ``write`` saves
``assessment.json`` and ``features.csv`` and renders ``report.html`` (optionally ``report.pdf``) from the saved
record (:mod:`~evaluation.assessment.page`, :mod:`~evaluation.assessment.pdf`).
"""

from evaluation.assessment.record import RECORD_FORMAT, Assessment, assess

__all__ = ["Assessment", "assess", "RECORD_FORMAT"]
