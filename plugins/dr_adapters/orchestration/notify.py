"""Run notifications (FR-6.2) to the manifest's SNS topics. Never fatal: a lost message is logged.

Topics are tried in order (``snsTopicArn``, then ``fallbackTopicArns``) with a fail-fast client, and
the first that takes the message is enough: keep a topic in each region and a dark region never
silences the run.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from dr_adapters.plan.model import Plan

log = logging.getLogger(__name__)


def dark_region(plan: Plan, request: Any) -> str | None:
    """The region an unplanned run leaves (known dark: nothing of the run's own goes there), else None."""
    return plan.regions.source(request.acting_as) if request is not None and request.unplanned else None


def notify(plan: Plan, sessions: Any, event: str, subject: str, details: dict[str, Any], *,
           avoid: str | None = None) -> str | None:
    """Publish to the first topic that answers, skipping those in ``avoid`` (a region known dark);
    returns its ARN (None: no topic, or none answered)."""
    message = {"event": event, "dag_id": plan.dag_id, **details}
    log.info("notification %s: %s", event, subject)
    for arn in plan.topic_arns:
        region = arn.split(":")[3]
        if region == avoid:
            continue
        try:
            sessions.client("sns", region, fail_fast=True).publish(
                TopicArn=arn,
                Subject=subject[:99],
                Message=json.dumps(message, indent=2, default=str),
                MessageAttributes={"event": {"DataType": "String", "StringValue": event}},
            )
            return arn
        except Exception:  # noqa: BLE001 - a notification must never fail the DR run: try the next topic
            log.warning("could not publish %s notification to %s; trying the next topic", event, arn, exc_info=True)
    if plan.topic_arns:
        log.error("no notification topic took %s: %s", event, ", ".join(plan.topic_arns))
    return None
