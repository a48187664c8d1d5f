"""The facade's composition root: clients created once at start-up, closed at shutdown.

:class:`ProcessContext` is built in the app's lifespan and reached by routes through the
dependencies in :mod:`almanac.api.dependencies`; nothing is module-level, so each
``create_app()`` (each test) gets its own clients.
"""

from __future__ import annotations

from dataclasses import dataclass

from almanac.api.catalog import Catalog
from almanac.api.events import TriggerPublisher
from almanac.api.kube import KubeFacade
from almanac.api.metrics import ApiMetrics
from almanac.api.roles import RolePolicy
from almanac.api.service import JobService
from almanac.api.settings import ApiSettings
from almanac.history.context import History
from almanac.history.deferred import DeferredRunStore
from almanac.history.store import RunStore
from almanac.operator.kube import load_api_client

__all__ = ["ProcessContext"]


#: Why every history read fails when history is off.
HISTORY_OFF = (
    "run history is off in this installation (ALMANAC_API_HISTORY_ENABLED=false: the "
    "chart's trial mode keeps it inside the operator pod); give the chart "
    "postgres.dsnSecret to read runs over REST"
)


@dataclass
class ProcessContext:
    """Per-process clients and the service built on them."""

    settings: ApiSettings
    kube: KubeFacade
    #: ``None`` when history is off (:attr:`ApiSettings.history_enabled`).
    history: History | None
    service: JobService
    metrics: ApiMetrics
    events: TriggerPublisher

    @classmethod
    async def from_settings(cls, settings: ApiSettings, metrics: ApiMetrics) -> ProcessContext:
        """Connect to the API server (KUBECONFIG or in-cluster) and open the history; Kafka
        is connected by the first event, so an outage there does not hold start-up."""
        kube = KubeFacade(await load_api_client())
        history: History | None = None
        store: RunStore = DeferredRunStore(HISTORY_OFF, permanent=True)
        try:
            if settings.history_enabled:
                history = await History.open(settings.database_url)
                store = history.store
        except BaseException:
            await kube.close()
            raise
        service = JobService(
            settings=settings,
            kube=kube,
            store=store,
            catalog=Catalog(kube, settings.image),
            audit_failures=metrics.audit_failures,
            limit_failures=metrics.limit_checks_failed,
            roles=RolePolicy.of(settings.admin_users, settings.readonly_users),
        )
        events = TriggerPublisher.from_settings(settings, metrics.events)
        return cls(settings, kube, history, service, metrics, events)

    async def aclose(self) -> None:
        await self.service.aclose()  # queued audit rows, while the history is open
        await self.events.aclose()
        await self.kube.close()
        if self.history is not None:
            await self.history.aclose()
