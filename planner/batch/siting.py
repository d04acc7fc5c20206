"""A province-wide number of new stations, shared out between counties by marginal gain.

Each county task proposes up to ``site_k`` ranked sites inside its borders
(:func:`planner.batch.county.run_county` with ``BatchSettings.site_tier``), each with its
gain in rank order: the population it newly covers (coverage models) or the
population-weighted minutes it saves (p-median, p-center). :func:`share_out` then hands out
``total`` sites one at a time to the county whose next site gains the most — a county's
sites are taken in its own rank order, never its second before its first. With gains that
fall along each county's ranking (as coverage gains do), this is the best share-out of
the counties' rankings; it is not a province-wide re-optimisation.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import pandas as pd

from planner.batch.tasks import CountyOutcome

__all__ = ["SHARE_COLUMNS", "share_out"]

#: Columns of :func:`share_out`'s table.
SHARE_COLUMNS: tuple[str, ...] = (
    "code",
    "name",
    "site_rank",
    "site_id",
    "site_name",
    "lon",
    "lat",
    "township",
    "gain",
    "chosen",
    "pick",
)


def share_out(outcomes: Sequence[CountyOutcome], *, total: int) -> pd.DataFrame:
    """Share ``total`` new sites between the counties' ranked proposals by marginal gain.

    Parameters
    ----------
    outcomes
        County outcomes whose summaries hold ``batch.siting`` (others are ignored).
    total
        Number of new sites for the province.

    Returns
    -------
    pandas.DataFrame
        Every proposed site (:data:`SHARE_COLUMNS`): ``chosen`` for the ``total`` taken,
        ``pick`` their order (1 = first taken; 0 for those not taken), sorted by county and rank.
    """
    rows: list[dict[str, object]] = []
    queues: list[list[dict[str, object]]] = []
    for o in outcomes:
        siting = ((o.summary or {}).get("batch") or {}).get("siting")
        if o.status not in ("ok", "skipped") or not siting:
            continue
        sites = sorted(siting["sites"], key=lambda s: int(s["rank"]))
        queue = [
            {
                "code": o.code,
                "name": o.name,
                "site_rank": s["rank"],
                "site_name": s["name"],
                **{k: s[k] for k in ("site_id", "lon", "lat", "township", "gain")},
            }
            for s in sites
        ]
        rows += queue
        if queue:
            queues.append(queue)
    for r in rows:
        r["chosen"], r["pick"] = False, 0
    heap = [(-float(q[0]["gain"]), str(q[0]["code"]), 0, i) for i, q in enumerate(queues)]  # type: ignore[arg-type]
    heapq.heapify(heap)
    pick = 0
    while heap and pick < total:
        _, _, pos, i = heapq.heappop(heap)
        site = queues[i][pos]
        pick += 1
        site["chosen"], site["pick"] = True, pick
        if pos + 1 < len(queues[i]):
            nxt = queues[i][pos + 1]
            heapq.heappush(heap, (-float(nxt["gain"]), str(nxt["code"]), pos + 1, i))  # type: ignore[arg-type]
    frame = pd.DataFrame(rows, columns=list(SHARE_COLUMNS))
    return frame.sort_values(["code", "site_rank"], kind="stable").reset_index(drop=True)
