"""adapters.capacity: which quota an instance type counts against, how a share of a quota is classified, and how
a quota's value is read (the value applied to the account, else AWS's default)."""

from __future__ import annotations

import pytest
from awssim import service_quotas

from aws_calls import recorded
from dr_adapters.adapters import capacity

HUB, DR = "123456789012", "us-west-2"  # make_ctx's hub account (moto's default) and DR region


@pytest.mark.parametrize(("instance_type", "code"), [
    ("t3.medium", "L-1216C47A"), ("m7i-flex.large", "L-1216C47A"), ("im4gn.large", "L-1216C47A"),
    ("is4gen.xlarge", "L-1216C47A"), ("d3en.xlarge", "L-1216C47A"), ("z1d.large", "L-1216C47A"),
    ("g4dn.xlarge", "L-DB2E81BA"), ("gr6.4xlarge", "L-DB2E81BA"), ("vt1.3xlarge", "L-DB2E81BA"),
    ("p5.48xlarge", "L-417A185B"), ("x2iedn.xlarge", "L-7295265B"), ("f1.2xlarge", "L-74FC7D96"),
    ("inf2.xlarge", "L-1945791B"), ("dl1.24xlarge", "L-6E869C2A"), ("trn1.2xlarge", "L-2C3B7624"),
    ("hpc7g.4xlarge", "L-F7808C92"), ("u-6tb1.metal", "L-43DA4232"), ("u7i-12tb.224xlarge", "L-43DA4232"),
])
def test_each_instance_family_counts_against_its_on_demand_quota(instance_type, code):
    quota = capacity.on_demand_quota(instance_type)
    assert quota is not None and quota.quota_code == code and quota.service_code == "ec2" and quota.unit == "vCPUs"
    # the simulator (the tests' oracle) sorts the family the same way, from its own table
    assert service_quotas.quota_of_instance_type(instance_type).quota_code == code


def test_mac_instances_have_no_on_demand_vcpu_quota():
    assert capacity.on_demand_quota("mac2.metal") is None and capacity.on_demand_quota("") is None


@pytest.mark.parametrize(("needed", "in_use", "value", "level"), [
    (10, 69, 100, "OK"), (10, 70, 100, "INFO"), (0, 89, 100, "INFO"), (10, 80, 100, "WARNING"),
    (1, 98, 100, "WARNING"), (10, 90, 100, "CRITICAL"), (16, 0, 8, "CRITICAL"), (1, 0, 0, "CRITICAL"),
    (0, 0, 0, "OK"),
])
def test_in_use_plus_needed_is_classified_by_its_share_of_the_quota(needed, in_use, value, level):
    assert capacity.summary(capacity.RDS_INSTANCES, needed, in_use, value)[0] == level


@pytest.mark.parametrize(("total", "suggested"), [(16, 21), (20, 26), (1, 2), (299, 374)])
def test_the_value_suggested_leaves_the_run_under_80_percent(total, suggested):
    assert capacity.suggested_value(total) == suggested
    assert capacity.summary(capacity.RDS_INSTANCES, total, 0, suggested)[0] == "OK"


def test_a_quota_is_read_applied_first_then_aws_default_and_a_documented_limit_not_at_all(make_ctx):
    ctx, calls = recorded(make_ctx("failover"))
    service_quotas.set_quota(HUB, DR, "ec2", "L-1216C47A", 96)
    standard = capacity.on_demand_quota("m5.large")
    assert capacity.read_quota(ctx, None, DR, standard) == capacity.QuotaValue(96.0, "applied to the account")
    assert list(calls) == ["servicequotas:GetServiceQuota"]
    calls.clear()
    # RDS DB instances: no value applied to the account, so AWS answers NoSuchResourceException; its default holds
    value = capacity.read_quota(ctx, None, DR, capacity.RDS_INSTANCES)
    assert value == capacity.QuotaValue(40.0, "AWS default, none applied to the account")
    assert list(calls) == ["servicequotas:GetServiceQuota", "servicequotas:GetAWSDefaultServiceQuota"]
    calls.clear()
    assert capacity.read_quota(ctx, None, DR, capacity.DRS_JOBS).value == 20 and list(calls) == []


def test_instance_vcpus_are_read_once_per_account_and_region_and_unknown_types_left_out(make_ctx):
    ctx, calls = recorded(make_ctx("failover"))
    assert capacity.instance_vcpus(ctx, None, DR, ["t3.medium", "m5.2xlarge", "zz9.huge"]) == {
        "t3.medium": 2, "m5.2xlarge": 8}
    assert capacity.instance_vcpus(ctx, None, DR, ["m5.2xlarge"]) == {"m5.2xlarge": 8}
    # one call with all three, refused for the unknown one; then each alone; then nothing more (kept in ctx.memo)
    assert calls.count("ec2:DescribeInstanceTypes") == 4
