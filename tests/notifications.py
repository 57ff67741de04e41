"""The run's notifications as a subscriber gets them: an SQS queue subscribed to its SNS topic."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import boto3


def subscribe_queue(session: boto3.Session, topic_arn: str, name: str = "dr-events-test") -> tuple[Any, str]:
    """An SQS queue subscribed to the run's SNS topic: the notifications, as a subscriber gets them."""
    region = topic_arn.split(":")[3]
    sqs = session.client("sqs", region_name=region)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    session.client("sns", region_name=region).subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return sqs, url


def events(sqs, url) -> list[dict]:
    """The notifications received so far (and removes them from the queue)."""
    out = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in batch:
            out.append(json.loads(json.loads(m["Body"])["Message"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def received_events(sqs, url) -> list[tuple[dict, datetime]]:
    """The notifications received so far, each with when its queue received it (SQS ``SentTimestamp``:
    the moment it reached the subscriber); removes them from the queue."""
    out = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       AttributeNames=["SentTimestamp"]).get("Messages", []):
        for m in batch:
            at = datetime.fromtimestamp(int(m["Attributes"]["SentTimestamp"]) / 1000, tz=timezone.utc)
            out.append((json.loads(json.loads(m["Body"])["Message"]), at))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out
