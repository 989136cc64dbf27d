"""Models for gait severity prediction (classical pipelines, ST-GCN, dual-stream fusion).

Nothing is public here yet: the estimators arrive with their own issues
(feature pipelines, deep models). The package exists so that the
installation layout is final from the start.
"""

__all__: list[str] = []
