"""Run notifications (FR-6.2) to the manifest's SNS topic. Never fatal: a lost message is logged."""

from __future__ import annotations

import json
import logging
from typing import Any

from dr_adapters.plan.model import Plan

log = logging.getLogger(__name__)


def notify(plan: Plan, sessions: Any, event: str, subject: str, details: dict[str, Any]) -> None:
    message = {"event": event, "dag_id": plan.dag_id, **details}
    log.info("notification %s: %s", event, subject)
    if not plan.sns_topic_arn:
        return
    region = plan.sns_topic_arn.split(":")[3]
    try:
        sessions.client("sns", region).publish(
            TopicArn=plan.sns_topic_arn,
            Subject=subject[:99],
            Message=json.dumps(message, indent=2, default=str),
            MessageAttributes={"event": {"DataType": "String", "StringValue": event}},
        )
    except Exception:  # noqa: BLE001 - a notification must never fail the DR run
        log.exception("could not publish %s notification to %s", event, plan.sns_topic_arn)
