"""A run's feed status changes as Prefect events, which the automation of `deployments.alerts`
turns into notifications."""

from __future__ import annotations

from collections.abc import Sequence

from prefect.events import emit_event

from tasks.models import StatusChange
from tasks.run.health import HealthPolicy, announcements


def announce(changes: Sequence[StatusChange], run_id: str, policy: HealthPolicy) -> int:
    """Emit one event per feed whose change was alerted, or one digest when more than
    `policy.digest_over` feeds were (see `tasks.run.health`); return how many were emitted.

    Prefect's events worker sends them in the background and attaches the flow run, its flow
    and deployment as related resources.
    """
    sent = announcements(changes, run_id, policy)
    for event in sent:
        emit_event(
            event=event.event,
            resource=event.resource,
            payload=event.payload,
            related=event.related or None,
        )
    return len(sent)
