"""awssim.rds_global: Aurora global-cluster switchover/failover that moto 5.2 lacks, in AWS's shapes."""

from __future__ import annotations

import time

import boto3
import pytest
from awssim.kits.aurora import seed_aurora_global
from botocore.exceptions import ClientError

PRIMARY, DR = "us-east-1", "us-west-2"
TAGS = {"Customer": "acme", "Environment": "production"}


def seed(session, endpoint_url=None):
    return seed_aurora_global(session, "orders-global", PRIMARY, "orders-use1", DR, "orders-usw2", TAGS,
                              dr_instances=1, endpoint_url=endpoint_url)


def global_cluster(rds):
    return rds.describe_global_clusters(GlobalClusterIdentifier="orders-global")["GlobalClusters"][0]


def writers(rds):
    return {m["DBClusterArn"].split(":")[-1]: m["IsWriter"] for m in global_cluster(rds)["GlobalClusterMembers"]}


def instance_writer(session, region, cluster_id):
    cluster = session.client("rds", region_name=region).describe_db_clusters(DBClusterIdentifier=cluster_id)
    return [m["IsClusterWriter"] for m in cluster["DBClusters"][0]["DBClusterMembers"]]


@pytest.fixture
def estate(aws):
    return aws, seed(aws)


def test_seed_builds_a_global_database_with_a_writer_in_primary(estate):
    session, arns = estate
    rds = session.client("rds", region_name=DR)
    assert writers(rds) == {"orders-use1": True, "orders-usw2": False}
    for region, cluster_id in ((PRIMARY, "orders-use1"), (DR, "orders-usw2")):
        cluster = session.client("rds", region_name=region).describe_db_clusters(DBClusterIdentifier=cluster_id)
        cluster = cluster["DBClusters"][0]
        assert cluster["GlobalClusterIdentifier"] == "orders-global"
        assert cluster["Status"] == "available"
        assert {t["Key"]: t["Value"] for t in cluster["TagList"]} == TAGS
    assert instance_writer(session, DR, "orders-usw2") == [False]  # a secondary has no writer instance
    assert instance_writer(session, PRIMARY, "orders-use1") == [True]


def test_switchover_is_in_progress_then_completes_lazily(estate, monkeypatch):
    session, arns = estate
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    rds = session.client("rds", region_name=DR)
    reply = rds.switchover_global_cluster(GlobalClusterIdentifier="orders-global",
                                          TargetDbClusterIdentifier=arns["dr_arn"])["GlobalCluster"]
    assert reply["Status"] == "switching-over"
    assert reply["FailoverState"] == {
        "Status": "failing-over",
        "FromDbClusterArn": arns["primary_arn"],
        "ToDbClusterArn": arns["dr_arn"],
        "IsDataLossAllowed": False,
    }
    assert writers(rds) == {"orders-use1": True, "orders-usw2": False}  # not yet
    time.sleep(0.4)
    after = global_cluster(rds)
    assert after["Status"] == "available" and "FailoverState" not in after
    assert writers(rds) == {"orders-use1": False, "orders-usw2": True}
    assert instance_writer(session, DR, "orders-usw2") == [True]
    assert instance_writer(session, PRIMARY, "orders-use1") == [False]
    members = {m["DBClusterArn"]: m for m in after["GlobalClusterMembers"]}
    assert members[arns["dr_arn"]]["Readers"] == [arns["primary_arn"]]


def test_failover_with_data_loss_reports_it_and_swaps_roles(estate, monkeypatch):
    session, arns = estate
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "60")
    rds = session.client("rds", region_name=DR)
    reply = rds.failover_global_cluster(GlobalClusterIdentifier="orders-global",
                                        TargetDbClusterIdentifier=arns["dr_arn"], AllowDataLoss=True)
    assert reply["GlobalCluster"]["Status"] == "failing-over"
    assert reply["GlobalCluster"]["FailoverState"]["IsDataLossAllowed"] is True
    with pytest.raises(ClientError) as err:  # one transition at a time
        rds.switchover_global_cluster(GlobalClusterIdentifier="orders-global",
                                      TargetDbClusterIdentifier=arns["dr_arn"])
    assert err.value.response["Error"]["Code"] == "InvalidGlobalClusterStateFault"
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0")  # the due time was fixed at call time
    assert global_cluster(rds)["Status"] == "failing-over"


def test_failover_with_switchover_flag_loses_no_data(estate):
    session, arns = estate
    rds = session.client("rds", region_name=PRIMARY)
    reply = rds.failover_global_cluster(GlobalClusterIdentifier="orders-global",
                                        TargetDbClusterIdentifier=arns["dr_arn"], Switchover=True)
    assert reply["GlobalCluster"]["FailoverState"]["IsDataLossAllowed"] is False
    assert writers(rds) == {"orders-use1": False, "orders-usw2": True}


@pytest.mark.parametrize(
    "target, extra, code",
    [
        ("arn:aws:rds:us-west-2:123456789012:cluster:nope", {}, "DBClusterNotFoundFault"),
        ("orders-usw2", {}, "InvalidParameterValue"),  # AWS wants the ARN
        ("arn:aws:rds:us-east-1:123456789012:cluster:orders-use1", {}, "InvalidGlobalClusterStateFault"),
        ("arn:aws:rds:us-west-2:123456789012:cluster:orders-usw2", {"AllowDataLoss": True, "Switchover": True},
         "InvalidParameterCombination"),
    ],
)
def test_invalid_targets_are_refused_like_aws(estate, target, extra, code):
    session, _ = estate
    rds = session.client("rds", region_name=DR)
    op = rds.failover_global_cluster if extra else rds.switchover_global_cluster
    with pytest.raises(ClientError) as err:
        op(GlobalClusterIdentifier="orders-global", TargetDbClusterIdentifier=target, **extra)
    assert err.value.response["Error"]["Code"] == code
    assert writers(rds) == {"orders-use1": True, "orders-usw2": False}


def test_non_member_target_and_unknown_global_cluster(estate):
    session, _ = estate
    rds = session.client("rds", region_name=DR)
    lone = rds.create_db_cluster(DBClusterIdentifier="lone", Engine="aurora-mysql", MasterUsername="admin",
                                 MasterUserPassword="not-a-real-password")["DBCluster"]["DBClusterArn"]
    with pytest.raises(ClientError) as err:
        rds.switchover_global_cluster(GlobalClusterIdentifier="orders-global", TargetDbClusterIdentifier=lone)
    assert err.value.response["Error"]["Code"] == "InvalidGlobalClusterStateFault"
    for call in (
        lambda: rds.describe_global_clusters(GlobalClusterIdentifier="nope"),
        lambda: rds.switchover_global_cluster(GlobalClusterIdentifier="nope", TargetDbClusterIdentifier=lone),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "GlobalClusterNotFoundFault"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_remove_from_global_cluster_detaches_the_member(estate):
    session, arns = estate
    rds = session.client("rds", region_name=DR)
    rds.remove_from_global_cluster(GlobalClusterIdentifier="orders-global", DbClusterIdentifier=arns["dr_arn"])
    assert writers(rds) == {"orders-use1": True}
    cluster = rds.describe_db_clusters(DBClusterIdentifier="orders-usw2")["DBClusters"][0]
    assert "GlobalClusterIdentifier" not in cluster


def test_accounts_are_separate(aws, make_ctx):
    spoke = make_ctx().aws.session("222222222222")[0]
    arns = seed(spoke)
    assert ":222222222222:" in arns["dr_arn"]
    spoke.client("rds", region_name=DR).switchover_global_cluster(
        GlobalClusterIdentifier="orders-global", TargetDbClusterIdentifier=arns["dr_arn"])
    assert writers(spoke.client("rds", region_name=DR)) == {"orders-use1": False, "orders-usw2": True}
    assert aws.client("rds", region_name=DR).describe_global_clusters()["GlobalClusters"] == []


def test_server_mode(server_url):
    url = server_url
    session = boto3.Session(region_name=PRIMARY)
    arns = seed(session, endpoint_url=url)
    rds = session.client("rds", region_name=DR, endpoint_url=url)
    reply = rds.switchover_global_cluster(GlobalClusterIdentifier="orders-global",
                                          TargetDbClusterIdentifier=arns["dr_arn"])
    assert reply["GlobalCluster"]["FailoverState"]["ToDbClusterArn"] == arns["dr_arn"]
    assert writers(rds) == {"orders-use1": False, "orders-usw2": True}
    with pytest.raises(ClientError) as err:
        rds.switchover_global_cluster(GlobalClusterIdentifier="orders-global",
                                      TargetDbClusterIdentifier=arns["dr_arn"])
    assert err.value.response["Error"]["Code"] == "InvalidGlobalClusterStateFault"


def test_a_global_database_outside_us_east_1(aws):
    """moto looks for CreateGlobalCluster's source cluster in us-east-1 only; AWS (and we) in its region."""
    seed_aurora_global(aws, "g-eu", "eu-west-1", "db-eu", "ap-southeast-2", "db-ap", TAGS)
    for region in ("eu-west-1", "ap-southeast-2"):
        (gc,) = aws.client("rds", region_name=region).describe_global_clusters(
            GlobalClusterIdentifier="g-eu")["GlobalClusters"]
        members = {m["DBClusterArn"].split(":")[3]: m["IsWriter"] for m in gc["GlobalClusterMembers"]}
        assert members == {"eu-west-1": True, "ap-southeast-2": False}
    primary = aws.client("rds", region_name="eu-west-1")
    (cluster,) = primary.describe_db_clusters(DBClusterIdentifier="db-eu")["DBClusters"]
    with pytest.raises(ClientError, match="inherited"):  # the engine comes from the source, as on AWS
        primary.create_global_cluster(GlobalClusterIdentifier="g-eu-2", SourceDBClusterIdentifier=cluster["DBClusterArn"],
                                      Engine="aurora-mysql")
