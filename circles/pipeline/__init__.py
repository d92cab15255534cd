"""The one analysis pipeline: `prepare` reads and checks the inputs once, `analyse` measures one area.

`circles analyze` runs ``analyse(prepare(options), area)``; `circles batch` runs `prepare` once
and, for each district, `analyse` on that district's cut of the prepared inputs (see
`Prepared.cut`), possibly on another machine; the app runs the same two calls. Nothing else
re-implements a step, so a district's figures are the same whichever command produced them.

Example
-------
>>> from circles.options import RunOptions
>>> prepared = prepare(RunOptions(sample=True))          # doctest: +SKIP
>>> result = analyse(prepared)                            # doctest: +SKIP
>>> [round(c.coverage, 3) for c in result.report.categories]  # doctest: +SKIP
"""

from circles.pipeline.analyse import analyse
from circles.pipeline.model import SNAP_MARGIN_M, AnalysisResult, Area, Prepared, Stopwatch, reach_bbox
from circles.pipeline.prepare import prepare

__all__ = ["Area", "Prepared", "AnalysisResult", "Stopwatch", "prepare", "analyse", "reach_bbox", "SNAP_MARGIN_M"]
