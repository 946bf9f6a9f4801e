"""``GET /metrics``: the service's Prometheus metrics in the text exposition format.

The registry is the app's own ``Metrics`` (one per app instance, see ``identity_service.
metrics``); with several worker processes, each answers for itself.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from identity_service.api.deps import ServicesDep
from identity_service.metrics import metrics_response

router = APIRouter(tags=["operations"])

METRICS_PATH = "/metrics"


@router.get(METRICS_PATH, summary="Prometheus metrics", response_class=Response)
def metrics(services: ServicesDep) -> Response:
    body, content_type = metrics_response(services.metrics)
    return Response(content=body, headers={"Content-Type": content_type})
