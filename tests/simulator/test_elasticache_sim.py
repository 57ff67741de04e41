"""awssim.elasticache_global: ElastiCache global datastores that moto 5.2 lacks, in AWS's shapes and refusals."""

from __future__ import annotations

import time

import boto3
import pytest
from awssim.elasticache_global import REGION_PREFIXES, region_prefix
from awssim.kits.elasticache import seed_global_datastore
from botocore.exceptions import ClientError

PRIMARY, DR, THIRD, HUB = "us-east-1", "us-west-2", "eu-west-1", "123456789012"
GID = "ldgnf-orders"
TAGS = {"Customer": "acme", "Environment": "production"}


def seed(session, endpoint_url=None, **kwargs):
    return seed_global_datastore(session, HUB, GID, PRIMARY, "orders-a", DR, "orders-b", TAGS,
                                 endpoint_url=endpoint_url, **kwargs)


def ec(session, region, endpoint_url=None):
    return session.client("elasticache", region_name=region, endpoint_url=endpoint_url)


def datastore(client, gid=GID):
    return client.describe_global_replication_groups(GlobalReplicationGroupId=gid,
                                                     ShowMemberInfo=True)["GlobalReplicationGroups"][0]


def roles(client, gid=GID):
    return {m["ReplicationGroupId"]: m["Role"] for m in datastore(client, gid)["Members"]}


def refused(call, code, status=400):
    with pytest.raises(ClientError) as err:
        call()
    assert err.value.response["Error"]["Code"] == code, err.value.response["Error"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


@pytest.fixture
def estate(aws):
    seed(aws)
    return aws


def test_the_id_carries_the_prefix_of_the_region_it_is_created_in(aws):
    assert (region_prefix("us-east-1"), region_prefix("us-west-2")) == ("ldgnf", "sgaui")
    assert region_prefix("xx-nowhere-9") == region_prefix("xx-nowhere-9") and len(region_prefix("xx-nowhere-9")) == 5
    assert len(set(REGION_PREFIXES.values())) == len(REGION_PREFIXES)
    for region in (PRIMARY, DR):
        client = ec(aws, region)
        client.create_replication_group(ReplicationGroupId="web", ReplicationGroupDescription="web")
        created = client.create_global_replication_group(GlobalReplicationGroupIdSuffix="web",
                                                         PrimaryReplicationGroupId="web")["GlobalReplicationGroup"]
        assert created["GlobalReplicationGroupId"] == f"{region_prefix(region)}-web"
        assert created["ARN"] == f"arn:aws:elasticache::{HUB}:globalreplicationgroup:{region_prefix(region)}-web"


def test_seed_builds_a_datastore_seen_alike_from_every_region(estate):
    for region in (PRIMARY, DR, THIRD):  # a global datastore belongs to no region
        assert roles(ec(estate, region)) == {"orders-a": "PRIMARY", "orders-b": "SECONDARY"}
    found = datastore(ec(estate, DR))
    assert found["Status"] == "available" and found["Engine"] == "valkey" and found["CacheNodeType"] == "cache.r7g.large"
    assert {m["Status"] for m in found["Members"]} == {"associated"}
    plain = ec(estate, DR).describe_global_replication_groups(GlobalReplicationGroupId=GID)["GlobalReplicationGroups"][0]
    assert "Members" not in plain  # only with ShowMemberInfo
    for region, group_id, role, nodes in ((PRIMARY, "orders-a", "PRIMARY", 2), (DR, "orders-b", "SECONDARY", 1)):
        group = ec(estate, region).describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]
        assert group["GlobalReplicationGroupInfo"] == {"GlobalReplicationGroupId": GID,
                                                       "GlobalReplicationGroupMemberRole": role}
        assert len(group["MemberClusters"]) == nodes  # NumCacheClusters honoured (moto makes one node)
        assert group["CacheNodeType"] == "cache.r7g.large"  # the secondary takes it from the datastore


def test_transitions_take_the_delay_and_complete_lazily(estate, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    client = ec(estate, DR)
    reply = client.failover_global_replication_group(GlobalReplicationGroupId=GID, PrimaryRegion=DR,
                                                     PrimaryReplicationGroupId="orders-b")["GlobalReplicationGroup"]
    assert reply["Status"] == "modifying" and roles(client) == {"orders-a": "PRIMARY", "orders-b": "SECONDARY"}
    refused(lambda: client.failover_global_replication_group(GlobalReplicationGroupId=GID, PrimaryRegion=DR,
                                                             PrimaryReplicationGroupId="orders-b"),
            "InvalidGlobalReplicationGroupState")  # one change at a time (a retried call meets this)
    refused(lambda: client.disassociate_global_replication_group(GlobalReplicationGroupId=GID, ReplicationGroupId="orders-a",
                                                                 ReplicationGroupRegion=PRIMARY),
            "InvalidGlobalReplicationGroupState")
    time.sleep(0.4)
    assert datastore(client)["Status"] == "available"
    assert roles(client) == {"orders-a": "SECONDARY", "orders-b": "PRIMARY"}
    info = client.describe_replication_groups(ReplicationGroupId="orders-b")["ReplicationGroups"][0]
    assert info["GlobalReplicationGroupInfo"]["GlobalReplicationGroupMemberRole"] == "PRIMARY"


@pytest.mark.parametrize("region, group_id, code", [
    (THIRD, "orders-b", "InvalidParameterValue"),  # not a member region
    (DR, "orders-a", "InvalidParameterValue"),  # not that region's member
    (PRIMARY, "orders-a", "InvalidParameterValue"),  # already the primary
])
def test_a_failover_to_anything_but_a_secondary_member_is_refused(estate, region, group_id, code):
    client = ec(estate, DR)
    refused(lambda: client.failover_global_replication_group(GlobalReplicationGroupId=GID, PrimaryRegion=region,
                                                             PrimaryReplicationGroupId=group_id), code)
    assert roles(client) == {"orders-a": "PRIMARY", "orders-b": "SECONDARY"}


def test_unknown_datastores_are_404(estate):
    client = ec(estate, DR)
    for call in (lambda: client.describe_global_replication_groups(GlobalReplicationGroupId="nope"),
                 lambda: client.failover_global_replication_group(GlobalReplicationGroupId="nope", PrimaryRegion=DR,
                                                                  PrimaryReplicationGroupId="orders-b"),
                 lambda: client.disassociate_global_replication_group(GlobalReplicationGroupId="nope",
                                                                      ReplicationGroupId="orders-b",
                                                                      ReplicationGroupRegion=DR),
                 lambda: client.create_replication_group(ReplicationGroupId="x", ReplicationGroupDescription="x",
                                                         GlobalReplicationGroupId="nope")):
        refused(call, "GlobalReplicationGroupNotFoundFault", 404)


def test_detaching_the_secondary_leaves_a_primary_only_datastore(estate):
    client = ec(estate, DR)
    refused(lambda: client.disassociate_global_replication_group(GlobalReplicationGroupId=GID, ReplicationGroupId="orders-a",
                                                                 ReplicationGroupRegion=PRIMARY),
            "InvalidParameterValue")  # the primary: delete the datastore instead
    reply = client.disassociate_global_replication_group(GlobalReplicationGroupId=GID, ReplicationGroupId="orders-b",
                                                         ReplicationGroupRegion=DR)["GlobalReplicationGroup"]
    assert reply["Status"] == "modifying" and {m["Status"] for m in reply["Members"]} == {"associated", "disassociating"}
    after = datastore(client)
    assert after["Status"] == "primary-only" and roles(client) == {"orders-a": "PRIMARY"}
    assert "GlobalReplicationGroupInfo" not in client.describe_replication_groups(
        ReplicationGroupId="orders-b")["ReplicationGroups"][0]
    refused(lambda: client.failover_global_replication_group(GlobalReplicationGroupId=GID, PrimaryRegion=PRIMARY,
                                                             PrimaryReplicationGroupId="orders-a"),
            "InvalidGlobalReplicationGroupState")


def test_deleting_needs_the_secondaries_gone_and_keeps_the_primary(estate):
    primary = ec(estate, PRIMARY)
    refused(lambda: primary.delete_global_replication_group(GlobalReplicationGroupId=GID,
                                                            RetainPrimaryReplicationGroup=True),
            "InvalidGlobalReplicationGroupState")
    refused(lambda: primary.delete_replication_group(ReplicationGroupId="orders-a"), "InvalidReplicationGroupState")
    ec(estate, DR).disassociate_global_replication_group(GlobalReplicationGroupId=GID, ReplicationGroupId="orders-b",
                                                         ReplicationGroupRegion=DR)
    refused(lambda: primary.delete_global_replication_group(GlobalReplicationGroupId=GID,
                                                            RetainPrimaryReplicationGroup=False), "InvalidParameterValue")
    assert primary.delete_global_replication_group(GlobalReplicationGroupId=GID, RetainPrimaryReplicationGroup=True)[
        "GlobalReplicationGroup"]["Status"] == "deleting"
    assert primary.describe_global_replication_groups()["GlobalReplicationGroups"] == []
    assert "GlobalReplicationGroupInfo" not in primary.describe_replication_groups(
        ReplicationGroupId="orders-a")["ReplicationGroups"][0]
    primary.delete_replication_group(ReplicationGroupId="orders-a")  # now a plain group: it can go, and its id
    primary.create_replication_group(ReplicationGroupId="orders-a", ReplicationGroupDescription="again")


def test_a_secondary_joins_like_on_aws(estate):
    third = ec(estate, THIRD)
    refused(lambda: ec(estate, DR).create_replication_group(
        ReplicationGroupId="orders-b2", ReplicationGroupDescription="x", GlobalReplicationGroupId=GID),
        "InvalidParameterValue")  # one member per region
    refused(lambda: third.create_replication_group(
        ReplicationGroupId="orders-c", ReplicationGroupDescription="x", GlobalReplicationGroupId=GID,
        CacheNodeType="cache.m7g.large"), "InvalidParameterValue")  # the datastore's node type, not another
    third.create_replication_group(ReplicationGroupId="orders-c", ReplicationGroupDescription="x",
                                   GlobalReplicationGroupId=GID)
    assert roles(third) == {"orders-a": "PRIMARY", "orders-b": "SECONDARY", "orders-c": "SECONDARY"}
    ec(estate, "eu-central-1").create_replication_group(ReplicationGroupId="orders-d", ReplicationGroupDescription="x")
    refused(lambda: ec(estate, "eu-central-1").create_global_replication_group(
        GlobalReplicationGroupIdSuffix="orders", PrimaryReplicationGroupId="nope"), "ReplicationGroupNotFoundFault", 404)
    refused(lambda: ec(estate, PRIMARY).create_global_replication_group(
        GlobalReplicationGroupIdSuffix="again", PrimaryReplicationGroupId="orders-a"), "InvalidReplicationGroupState")
    ec(estate, PRIMARY).create_replication_group(ReplicationGroupId="other", ReplicationGroupDescription="x")
    refused(lambda: ec(estate, PRIMARY).create_global_replication_group(
        GlobalReplicationGroupIdSuffix="orders", PrimaryReplicationGroupId="other"), "GlobalReplicationGroupAlreadyExistsFault")


def test_increase_replica_count_like_aws(estate, monkeypatch):
    client = ec(estate, DR)

    def grow(**kwargs):
        return client.increase_replica_count(ReplicationGroupId="orders-b", **kwargs)

    refused(lambda: grow(NewReplicaCount=2, ApplyImmediately=False), "InvalidParameterValue")
    refused(lambda: grow(NewReplicaCount=0, ApplyImmediately=True), "InvalidParameterValue")  # not more than now
    refused(lambda: grow(NewReplicaCount=6, ApplyImmediately=True), "InvalidParameterValue")  # at most 5
    refused(lambda: grow(ApplyImmediately=True), "InvalidParameterCombination")
    refused(lambda: client.increase_replica_count(ReplicationGroupId="nope", NewReplicaCount=2, ApplyImmediately=True),
            "ReplicationGroupNotFoundFault", 404)
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    assert grow(NewReplicaCount=2, ApplyImmediately=True)["ReplicationGroup"]["Status"] == "modifying"
    refused(lambda: grow(NewReplicaCount=3, ApplyImmediately=True), "InvalidReplicationGroupState")
    time.sleep(0.4)
    group = client.describe_replication_groups(ReplicationGroupId="orders-b")["ReplicationGroups"][0]
    assert group["Status"] == "available" and group["MemberClusters"] == ["orders-b-001", "orders-b-002", "orders-b-003"]
    assert [m["CurrentRole"] for m in group["NodeGroups"][0]["NodeGroupMembers"]] == ["primary", "replica", "replica"]

    def shrink(**kwargs):
        return client.decrease_replica_count(ReplicationGroupId="orders-b", ApplyImmediately=True, **kwargs)

    refused(lambda: shrink(NewReplicaCount=2), "InvalidParameterValue")  # not fewer than now
    assert shrink(NewReplicaCount=0)["ReplicationGroup"]["Status"] == "modifying"  # the newest go first
    time.sleep(0.4)
    group = client.describe_replication_groups(ReplicationGroupId="orders-b")["ReplicationGroups"][0]
    assert group["Status"] == "available" and group["MemberClusters"] == ["orders-b-001"]


def test_datastores_and_groups_are_taggable_and_listed_by_resource_explorer_type(estate):
    arn = datastore(ec(estate, DR))["ARN"]
    for region in (PRIMARY, DR, THIRD):  # the global ARN from any region
        tags = ec(estate, region).list_tags_for_resource(ResourceName=arn)["TagList"]
        assert {t["Key"]: t["Value"] for t in tags} == TAGS
    client = ec(estate, THIRD)
    client.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "dr:wave", "Value": "2"}])
    client.remove_tags_from_resource(ResourceName=arn, TagKeys=["Environment"])
    tagging = estate.client("resourcegroupstaggingapi", region_name=DR)
    tagging.tag_resources(ResourceARNList=[arn], Tags={"dr:priority": "high"})
    assert {t["Key"] for t in ec(estate, DR).list_tags_for_resource(ResourceName=arn)["TagList"]} == {
        "Customer", "dr:wave", "dr:priority"}

    def listed(region, rtype):
        pages = estate.client("resourcegroupstaggingapi", region_name=region).get_paginator("get_resources").paginate(
            ResourceTypeFilters=[rtype])
        return sorted(r["ResourceARN"].split(":")[-1] for page in pages for r in page["ResourceTagMappingList"])

    # listed in each member region: found from whichever is still up
    assert listed(PRIMARY, "elasticache:globalreplicationgroup") == listed(DR, "elasticache:globalreplicationgroup") \
        == [GID]
    assert listed(THIRD, "elasticache:globalreplicationgroup") == []
    assert listed(DR, "elasticache:replicationgroup") == ["orders-b"]  # Resource Explorer's type name


def test_accounts_are_separate(aws, make_ctx):
    spoke = make_ctx().aws.session("222222222222")[0]
    seed_global_datastore(spoke, "222222222222", GID, PRIMARY, "orders-a", DR, "orders-b", TAGS)
    assert roles(ec(spoke, DR)) == {"orders-a": "PRIMARY", "orders-b": "SECONDARY"}
    assert ec(aws, DR).describe_global_replication_groups()["GlobalReplicationGroups"] == []


def test_server_mode(server_url):
    url = server_url
    session = boto3.Session(region_name=PRIMARY)
    seed(session, endpoint_url=url)
    client = ec(session, DR, url)
    client.failover_global_replication_group(GlobalReplicationGroupId=GID, PrimaryRegion=DR,
                                             PrimaryReplicationGroupId="orders-b")
    assert roles(client) == {"orders-a": "SECONDARY", "orders-b": "PRIMARY"}
