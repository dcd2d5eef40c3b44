"""The cached views: chart data, a completed run's results, and what serves them (the response cache, single
flight, gzip splicing, decimation, the backend client, cached access decisions, prewarm requests).

This module is the package's one public door: the api's edge and stream, and the prewarm worker, import from
``api.views`` and never from its modules. :class:`CachedViews` is the entry point, built once per process from
the api's settings.
"""

from api.views.access import AccessChecks, Decision
from api.views.cache import Computed, Encoded, digest, etag_matches
from api.views.cached_views import CachedViews, ChartResult, RunPartsResult
from api.views.charts import chart_dataset, chart_view
from api.views.gzip_splice import gzip_with_suffix
from api.views.outcome import Outcome
from api.views.pending_stores import answering
from api.views.prewarm import PrewarmTrigger
from api.views.queries import RUN_ID_PATTERN, ChartDataQuery, RunCompleteQuery
from api.views.read_ahead import ReadAhead, all_found_ahead
from api.views.redis_guard import RedisGuard, RedisUnavailable
from api.views.run_results import RunNotCompleted, RunParts, encode_run_parts
from api.views.shared_tasks import SharedTasks
from api.views.transform import loads_object
from api.views.upstream import USER_HEADER, BackendFailure, BackendRefused, Upstream, UpstreamTimeout
from common.spliceable_gzip import accepts_gzip

__all__ = [
    "RUN_ID_PATTERN", "AccessChecks", "BackendFailure", "BackendRefused", "CachedViews", "ChartDataQuery",
    "ChartResult", "Computed", "Decision", "Encoded", "Outcome", "PrewarmTrigger", "ReadAhead", "RedisGuard",
    "RedisUnavailable",
    "RunCompleteQuery", "RunNotCompleted", "RunParts", "RunPartsResult", "SharedTasks", "USER_HEADER", "Upstream",
    "UpstreamTimeout",
    "accepts_gzip", "all_found_ahead", "answering", "chart_dataset", "chart_view", "digest", "encode_run_parts",
    "etag_matches",
    "gzip_with_suffix",
    "loads_object",
]
