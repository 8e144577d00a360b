"""The project's Prefect automation: feed status events → a notification through one block.

Each ingest run emits `newsdesk.feed.status-changed` for a feed whose status changed (or one
`newsdesk.feeds.status-changed` digest when many did: `tasks.run.health`). This automation
sends each of them through one Prefect notification block, `NEWSDESK_ALERT_BLOCK`
(`custom-webhook/newsdesk-alerts` by default): the one place that says where alerts go. Point
it at Slack, e-mail or any webhook by editing that block in the UI, by naming another
notification block (`slack-webhook/newsroom`, `sendgrid-email/desk`), or, for the default
block, with `newsdesk alerts --webhook URL`. `deploy_alerts` creates or updates both, so running
it again (every `make deploy` and `newsdesk serve` does) changes nothing that is already so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from prefect.automations import AutomationCore, EventTrigger, Posture, SendNotification
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from tasks.run.health import DIGEST_EVENT, FEED_EVENT

AUTOMATION = "newsdesk feed status"
DEFAULT_BLOCK = "custom-webhook/newsdesk-alerts"
SUBJECT = "newsdesk: {{ event.payload.subject }}"
BODY = "{{ event.payload.message }}"
"""The events carry their own text (`payload.message`: the feed, its status and the reason, or
a digest's list), so one template serves both kinds and any block."""
WEBHOOK_JSON = {"text": "{{subject}}\n{{body}}", "subject": "{{subject}}", "body": "{{body}}"}
"""What the default block posts: `text` is what Slack, Mattermost and Teams incoming webhooks
read; `subject` and `body` for any other receiver."""


class AlertsError(Exception):
    """The automation cannot be deployed; the message says why and what to do."""


@dataclass(frozen=True)
class DeployedAlerts:
    automation_id: UUID
    block: str
    created: bool
    """False when an automation of that name was there already (and was updated)."""


def feed_status_automation(block_id: UUID) -> AutomationCore:
    """The automation: every feed status event, at once, through the block `block_id`."""
    return AutomationCore(
        name=AUTOMATION,
        description=(
            "Sends newsdesk's feed status changes (a feed silent, far below its usual volume, "
            "serving pages that are not articles, failing, or ok again; or a digest when many "
            "change in one run) through a notification block."
        ),
        trigger=EventTrigger(
            expect={FEED_EVENT, DIGEST_EVENT},
            match={"prefect.resource.id": ["newsdesk.feed.*", "newsdesk.run.*"]},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[SendNotification(block_document_id=block_id, subject=SUBJECT, body=BODY)],
    )


def deploy_alerts(block: str = DEFAULT_BLOCK, webhook: str | None = None) -> DeployedAlerts:
    """Create or update the automation, sending through `block` (`<block type>/<name>`); with
    `webhook`, first create or update that block as a Custom Webhook posting there (only for a
    `custom-webhook/…` block). Talks to the Prefect API in `PREFECT_API_URL`."""
    block_type, _, name = block.partition("/")
    if not block_type or not name:
        raise AlertsError(f"{block!r}: name a block as <block type>/<name>, e.g. {DEFAULT_BLOCK}")
    if webhook is not None:
        if block_type != "custom-webhook":
            raise AlertsError(f"--webhook makes a custom-webhook block, not a {block_type} one")
        CustomWebhookNotificationBlock(
            name="newsdesk", url=webhook, json_data=dict(WEBHOOK_JSON)
        ).save(name, overwrite=True)
    with get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(name, block_type_slug=block_type)
        except ObjectNotFound:
            raise AlertsError(
                f"no notification block {block} on this Prefect server: create it in the UI "
                "(Blocks → +), or give `newsdesk alerts --webhook URL`"
            ) from None
        wanted = feed_status_automation(document.id)
        existing = client.read_automations_by_name(AUTOMATION)
        if not existing:
            return DeployedAlerts(client.create_automation(wanted), block, created=True)
        keep, *extra = existing
        client.update_automation(keep.id, wanted)
        for duplicate in extra:
            client.delete_automation(duplicate.id)
        return DeployedAlerts(keep.id, block, created=False)
