"""Patient-level evaluation harness, metrics and reports.

Nothing is public here yet: the harness (``python -m evaluation.run``)
arrives with its own issue. The package exists so that the installation
layout is final from the start.
"""

__all__: list[str] = []
