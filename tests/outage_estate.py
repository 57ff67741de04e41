"""The estate of the regional-outage tests: not the demo. Another customer, Europe -> Asia-Pacific (so
Route 53's us-east-1 control plane stays up), all five technologies, hub and spoke accounts, and a
report bucket and a notification topic in each region (the orchestrator must not need the dark one)."""

from __future__ import annotations

from pathlib import Path

import yaml
from awssim.synthetic import synthetic_manifest

REGIONS = {"primary": "eu-west-1", "dr": "ap-southeast-2"}
CUSTOMER = "umbrella"
DAG_ID = f"dr_{CUSTOMER}_production"
CONFIRM = f"{CUSTOMER}/production"
REPORT_BUCKETS = {"primary": f"{CUSTOMER}-dr-reports-eu", "dr": f"{CUSTOMER}-dr-reports-ap"}


def write_manifest(folder: Path) -> Path:
    data = synthetic_manifest(CUSTOMER, resources=12, waves=3, regions=REGIONS)
    hub = data["hubAccountId"]
    data["notifications"] = {"snsTopicArn": f"arn:aws:sns:{REGIONS['primary']}:{hub}:dr-events-{CUSTOMER}-eu",
                             "fallbackTopicArns": [f"arn:aws:sns:{REGIONS['dr']}:{hub}:dr-events-{CUSTOMER}-ap"]}
    data["report"] = {"s3Bucket": REPORT_BUCKETS["primary"], "s3BucketRegion": REGIONS["primary"],
                      "fallbackBuckets": [{"s3Bucket": REPORT_BUCKETS["dr"], "region": REGIONS["dr"]}]}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{CUSTOMER}-production.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
