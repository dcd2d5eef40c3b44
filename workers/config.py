"""Settings of the prewarm worker: environment variables prefixed ``HEWSTON_WORKER_``.

The cache it fills is described by the api's own settings (key prefix, gzip level, lifetimes), read beside
these, because the worker stores exactly what an api node would.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import SettingsConfigDict

from common.setting_types import CaFile, HttpUrl, Port
from common.settings import BackendClientSettings, backend_ca_file_setting, backend_url_setting


class WorkerConfig(BackendClientSettings):
    """The worker role's settings (``WorkerSettings`` is arq's name for the options built from them)."""

    model_config = SettingsConfigDict(env_prefix="HEWSTON_WORKER_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    backend_url: HttpUrl = backend_url_setting("HEWSTON_WORKER_")
    backend_ca_file: CaFile | None = backend_ca_file_setting("HEWSTON_WORKER_")
    # The backend's service principal: reads every symbol and run. The same variable the backend reads.
    service_token: str | None = Field(default=None, repr=False,
                                      validation_alias=AliasChoices("HEWSTON_SERVICE_TOKEN",
                                                                                "HEWSTON_WORKER_SERVICE_TOKEN"))
    # Prometheus metrics on their own small HTTP server (the worker serves nothing else); port 0: none.
    metrics_host: str = "127.0.0.1"
    metrics_port: Port = 9101
    # How often discovery asks the backend for new data versions and completed runs: a divisor of a minute,
    # or a whole number of minutes that divides an hour.
    discover_every_s: int = 60
    # Newest completed runs kept warm; older ones are warmed when the api misses on them.
    discover_max_runs: int = Field(default=1000, ge=0)
    # Jobs run at once: each one is a few backend calls, and the backend is the one doing the work.
    max_jobs: int = Field(default=4, ge=1)
    job_timeout_s: float = Field(default=60.0, gt=0)
    # Tries of a job whose backend (or Redis) is unavailable, waiting retry_delay_s, then twice as long each
    # time up to retry_delay_max_s. A job that fails on bad data is not tried again.
    max_tries: int = Field(default=8, ge=1)
    retry_delay_s: float = Field(default=1.0, gt=0)
    retry_delay_max_s: float = Field(default=60.0, gt=0)
    # A stopping worker (SIGTERM, SIGINT) lets its running jobs finish for this long; the rest go back to the queue.
    shutdown_wait_s: int = Field(default=10, ge=0)
    # Then each step of the stop gets this long: the cancelled jobs and the queue's poll loop to end (a task
    # whose cancellation a Redis call swallowed is cancelled again), then the clean-up (connections, metrics).
    stop_timeout_s: float = Field(default=5.0, gt=0)
    # A health line (jobs done, failed, retried, queue depth) in the log this often.
    health_log_interval_s: float = Field(default=60.0, gt=0)

    @field_validator("discover_every_s")
    @classmethod
    def _fits_the_clock(cls, value: int) -> int:
        if discovery_schedule(value) is None:
            raise ValueError("must divide a minute (1..30 s) or be whole minutes that divide an hour")
        return value

    @property
    def exit_deadline_s(self) -> float:
        """Past this after SIGTERM a worker that is still running (something ignores its cancellation) ends its
        process: the jobs' wait and the stop's two steps."""
        return self.shutdown_wait_s + 2 * self.stop_timeout_s

    def retry_delay(self, job_try: int) -> float:
        """Seconds to wait after failed try ``job_try`` (1 for the first)."""
        return min(self.retry_delay_s * 2 ** (job_try - 1), self.retry_delay_max_s)


def discovery_schedule(every_s: int) -> dict[str, Any] | None:
    """arq cron fields that fire every ``every_s`` seconds on the clock, or None when that is not possible."""
    if 0 < every_s < 60 and 60 % every_s == 0:
        return {"second": set(range(0, 60, every_s))}
    if every_s >= 60 and every_s % 60 == 0 and 3600 % every_s == 0:
        return {"minute": set(range(0, 60, every_s // 60)), "second": 0}
    return None
