"""Regional outage in the simulator: a dark region's requests fail like a dead endpoint's, in-process
and in server mode; global control planes (Route 53, IAM) live in us-east-1; the switch is live."""

from __future__ import annotations

import subprocess
import sys
import time

import boto3
import pytest
import requests
from awssim import outage
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError

ONE_TRY = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=5)


def test_in_process_a_dark_region_drops_every_service(aws):
    aws.client("sqs", region_name="eu-west-1").create_queue(QueueName="q")
    with outage.outage("eu-west-1"):
        for service, call in (("sqs", "list_queues"), ("rds", "describe_db_clusters"), ("drs", "describe_jobs")):
            with pytest.raises(ConnectionClosedError):
                getattr(aws.client(service, region_name="eu-west-1", config=ONE_TRY), call)()
        assert aws.client("sqs", region_name="ap-southeast-2").list_queues().get("QueueUrls") is None  # others answer
        aws.client("route53").list_hosted_zones()  # Route 53 is us-east-1's: up
    assert aws.client("sqs", region_name="eu-west-1").list_queues()["QueueUrls"]  # back, state kept


def test_a_dark_us_east_1_takes_route53_and_iam_with_it(aws):
    with outage.outage("us-east-1"):
        for service, call in (("route53", "list_hosted_zones"), ("iam", "list_roles")):
            with pytest.raises(ConnectionClosedError):
                getattr(aws.client(service, config=ONE_TRY), call)()
        aws.client("sts", region_name="us-west-2").get_caller_identity()  # regional STS still answers


def test_region_names_are_checked():
    with pytest.raises(ValueError, match="not a region name: moon-1"):
        outage.set_dark(["moon-1"])


def test_signature_scope_names_the_region():
    header = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/ap-southeast-2/rds/aws4_request, "
              "SignedHeaders=host;x-amz-date, Signature=abc")
    assert outage.region_of(header) == "ap-southeast-2"
    assert outage.region_of(None, "X-Amz-Credential=AKID%2F20261129%2Feu-west-1%2Fs3%2Faws4_request") == "eu-west-1"
    assert outage.region_of(None) is None


def test_server_mode_outage_switch_and_counts():
    from awssim.server import SimulatorServer

    with SimulatorServer() as server:
        sqs = {r: boto3.client("sqs", region_name=r, endpoint_url=server.url, config=ONE_TRY,
                               aws_access_key_id="x", aws_secret_access_key="x") for r in ("eu-west-1", "eu-central-1")}
        sqs["eu-west-1"].list_queues()
        assert server.outage("eu-west-1")["regions"] == ["eu-west-1"]
        started = time.monotonic()
        with pytest.raises(ConnectionClosedError):
            sqs["eu-west-1"].list_queues()
        assert time.monotonic() - started < 2  # dropped at once, not a time-out
        sqs["eu-central-1"].list_queues()
        state = server.outage_state()
        assert state["refused"].get("eu-west-1", 0) >= 1 and "eu-west-1" not in state["refused"].keys() - {"eu-west-1"}
        assert state["served"]["eu-central-1"] >= 1
        assert server.outage()["regions"] == []  # restored
        sqs["eu-west-1"].list_queues()
        bad = requests.post(f"{server.url}{outage.CONTROL_PATH}", json={"regions": ["nowhere"]}, timeout=5)
        assert bad.status_code == 400 and "not a region name" in bad.json()["error"]


def test_serve_outage_flag_rejects_bad_regions():
    proc = subprocess.run([sys.executable, "-m", "awssim", "serve", "--seed", "none", "--outage", "eu-west-1,mars"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "not a region name: mars" in proc.stderr
