"""awssim.memorydb: MemoryDB Multi-Region clusters and cluster changes that take time (moto 5.2 has neither),
refused where AWS refuses, answered in botocore's shapes, listed for tag discovery."""

from __future__ import annotations

import time

import boto3
import botocore.session
import pytest
from awssim.kits.memorydb import NODE_TYPE, seed_multi_region
from awssim.memorydb import region_prefix
from botocore.exceptions import ClientError

PRIMARY, DR, HUB = "eu-west-1", "ap-southeast-2", "123456789012"
TAGS = {"Customer": "acme", "Environment": "production"}
MODEL = botocore.session.get_session().get_service_model("memorydb")


def members_of(shape: str) -> set[str]:
    return set(MODEL.shape_for(shape).members)


@pytest.fixture
def estate(aws):
    return aws, seed_multi_region(aws, PRIMARY, DR, "carts", "carts-dr", 2, 0, TAGS)


def client(session, region):
    return session.client("memorydb", region_name=region)


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    return err.value.response["Error"]["Code"]


def cluster(session, region, name):
    return client(session, region).describe_clusters(ClusterName=name, ShowShardDetails=True)["Clusters"][0]


def test_a_multi_region_cluster_answers_from_any_region_in_aws_shapes(estate):
    session, name = estate
    assert name == f"{region_prefix(PRIMARY)}-carts" and region_prefix("us-west-1") == "virxk"
    for region in (PRIMARY, DR, "us-east-1"):
        (mr,) = client(session, region).describe_multi_region_clusters(
            MultiRegionClusterName=name, ShowClusterDetails=True)["MultiRegionClusters"]
        assert set(mr) <= members_of("MultiRegionCluster")
        assert mr["ARN"] == f"arn:aws:memorydb::{HUB}:multiregioncluster/{name}"
        assert (mr["Status"], mr["NodeType"], mr["NumberOfShards"], mr["TLSEnabled"]) == ("available", NODE_TYPE, 2, True)
        assert sorted((c["Region"], c["ClusterName"], c["Status"]) for c in mr["Clusters"]) == [
            (DR, "carts-dr", "available"), (PRIMARY, "carts", "available")]
        assert all(set(c) <= members_of("RegionalCluster") for c in mr["Clusters"])
    brief = client(session, DR).describe_multi_region_clusters(MultiRegionClusterName=name)["MultiRegionClusters"][0]
    assert "Clusters" not in brief  # only with ShowClusterDetails
    regional = cluster(session, DR, "carts-dr")
    assert set(regional) <= members_of("Cluster")
    assert (regional["MultiRegionClusterName"], regional["Engine"], regional["NumberOfShards"]) == (name, "valkey", 2)
    assert {s["NumberOfNodes"] for s in regional["Shards"]} == {1}  # 0 replicas: each shard's primary only
    assert {s["NumberOfNodes"] for s in cluster(session, PRIMARY, "carts")["Shards"]} == {3}
    assert code_of(client(session, DR).describe_multi_region_clusters,
                   MultiRegionClusterName="nope") == "MultiRegionClusterNotFoundFault"


def test_creation_and_scaling_take_time_then_show_the_new_shape(aws, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    md = client(aws, PRIMARY)
    name = md.create_multi_region_cluster(MultiRegionClusterNameSuffix="slow", NodeType=NODE_TYPE)[
        "MultiRegionCluster"]["MultiRegionClusterName"]
    created = md.create_cluster(ClusterName="slow", MultiRegionClusterName=name, NodeType=NODE_TYPE,
                                ACLName="open-access", NumReplicasPerShard=1)["Cluster"]
    assert created["Status"] == "creating"
    assert code_of(md.update_cluster, ClusterName="slow",
                   ReplicaConfiguration={"ReplicaCount": 2}) == "InvalidClusterStateFault"
    time.sleep(0.35)
    assert cluster(aws, PRIMARY, "slow")["Status"] == "available"
    assert md.update_cluster(ClusterName="slow", ReplicaConfiguration={"ReplicaCount": 3})["Cluster"]["Status"] == "updating"
    during = cluster(aws, PRIMARY, "slow")
    assert during["Status"] == "updating" and {s["NumberOfNodes"] for s in during["Shards"]} == {2}
    assert code_of(md.update_cluster, ClusterName="slow",  # a retry while the first one runs
                   ReplicaConfiguration={"ReplicaCount": 3}) == "InvalidClusterStateFault"
    time.sleep(0.35)
    after = cluster(aws, PRIMARY, "slow")
    assert after["Status"] == "available" and {s["NumberOfNodes"] for s in after["Shards"]} == {4}
    assert code_of(md.update_cluster, ClusterName="slow",
                   ReplicaConfiguration={"ReplicaCount": 3}) == "NoOperationFault"


@pytest.mark.parametrize("region, args, code", [
    ("us-east-1", {"NodeType": "db.r6g.xlarge"}, "InvalidParameterValueException"),  # R7g only
    ("us-east-1", {"NodeType": "db.r7g.large"}, "InvalidParameterValueException"),  # xlarge and above
    ("us-east-1", {"NodeType": NODE_TYPE, "TLSEnabled": False}, "InvalidParameterCombinationException"),
    ("sa-east-1", {"NodeType": NODE_TYPE}, "InvalidParameterValueException"),  # no Multi-Region there
])
def test_multi_region_clusters_aws_refuses(aws, region, args, code):
    assert code_of(client(aws, region).create_multi_region_cluster, MultiRegionClusterNameSuffix="x", **args) == code


def test_regional_clusters_aws_refuses(estate):
    session, name = estate
    md = client(session, DR)
    regional = {"MultiRegionClusterName": name, "ACLName": "open-access"}
    assert code_of(md.create_cluster, ClusterName="second", NodeType=NODE_TYPE,  # one per region
                   **regional) == "InvalidParameterCombinationException"
    other = client(session, "us-west-2")
    assert code_of(other.create_cluster, ClusterName="c", NodeType="db.r7g.2xlarge",  # the Multi-Region one's
                   **regional) == "InvalidParameterCombinationException"
    assert code_of(other.create_cluster, ClusterName="c", NodeType=NODE_TYPE, NumShards=5,
                   **regional) == "InvalidParameterCombinationException"
    assert code_of(other.create_cluster, ClusterName="c", NodeType=NODE_TYPE, ACLName="open-access",
                   MultiRegionClusterName="nope") == "MultiRegionClusterNotFoundFault"
    assert code_of(md.update_cluster, ClusterName="carts-dr",  # UpdateMultiRegionCluster's job
                   ShardConfiguration={"ShardCount": 4}) == "InvalidParameterCombinationException"
    assert code_of(md.update_cluster, ClusterName="carts-dr", NodeType="db.r7g.2xlarge") == \
        "InvalidParameterCombinationException"
    assert code_of(md.update_cluster, ClusterName="carts-dr",
                   ReplicaConfiguration={"ReplicaCount": 6}) == "InvalidParameterValueException"
    assert code_of(md.update_cluster, ClusterName="nope",
                   ReplicaConfiguration={"ReplicaCount": 1}) == "ClusterNotFoundFault"
    assert code_of(client(session, PRIMARY).create_multi_region_cluster, MultiRegionClusterNameSuffix="carts",
                   NodeType=NODE_TYPE) == "MultiRegionClusterAlreadyExistsFault"


def test_deleting_a_regional_cluster_takes_its_region_out(estate):
    session, name = estate
    client(session, PRIMARY).delete_cluster(ClusterName="carts")
    mr = client(session, DR).describe_multi_region_clusters(MultiRegionClusterName=name, ShowClusterDetails=True)
    assert [c["Region"] for c in mr["MultiRegionClusters"][0]["Clusters"]] == [DR]
    # a new regional cluster may join in the freed region
    client(session, PRIMARY).create_cluster(ClusterName="carts-2", MultiRegionClusterName=name, NodeType=NODE_TYPE,
                                            ACLName="open-access")


def test_clusters_and_the_multi_region_cluster_are_discoverable_by_tags(estate):
    session, name = estate
    mr_arn = f"arn:aws:memorydb::{HUB}:multiregioncluster/{name}"
    for region, regional in ((PRIMARY, "carts"), (DR, "carts-dr")):
        found = session.client("resourcegroupstaggingapi", region_name=region).get_resources(
            TagFilters=[{"Key": "Customer", "Values": ["acme"]}])["ResourceTagMappingList"]
        assert sorted(r["ResourceARN"] for r in found) == sorted(
            [f"arn:aws:memorydb:{region}:{HUB}:cluster/{regional}", mr_arn])
        assert all({t["Key"]: t["Value"] for t in r["Tags"]} == TAGS for r in found)
    elsewhere = session.client("resourcegroupstaggingapi", region_name="us-west-2").get_resources()
    assert elsewhere["ResourceTagMappingList"] == []  # listed where a regional cluster of it lives
    md = client(session, DR)  # a Multi-Region cluster's tags from any region's endpoint
    md.tag_resource(ResourceArn=mr_arn, Tags=[{"Key": "dr:wave", "Value": "2"}])
    assert {t["Key"] for t in client(session, PRIMARY).list_tags(ResourceArn=mr_arn)["TagList"]} == {*TAGS, "dr:wave"}


def test_accounts_are_separate(aws, make_ctx):
    spoke = make_ctx().aws.session("222222222222")[0]
    name = seed_multi_region(spoke, PRIMARY, DR, "carts", "carts-dr", 1, 0, TAGS)
    assert client(aws, DR).describe_multi_region_clusters()["MultiRegionClusters"] == []
    (mr,) = client(spoke, DR).describe_multi_region_clusters(MultiRegionClusterName=name)["MultiRegionClusters"]
    assert ":222222222222:" in mr["ARN"]


def test_server_mode(server_url):
    url = server_url
    session = boto3.Session(region_name=PRIMARY)
    md = session.client("memorydb", region_name=PRIMARY, endpoint_url=url)
    name = md.create_multi_region_cluster(MultiRegionClusterNameSuffix="srv", NodeType=NODE_TYPE)[
        "MultiRegionCluster"]["MultiRegionClusterName"]
    md.create_cluster(ClusterName="srv", MultiRegionClusterName=name, NodeType=NODE_TYPE, ACLName="open-access")
    dr = session.client("memorydb", region_name=DR, endpoint_url=url)
    (mr,) = dr.describe_multi_region_clusters(MultiRegionClusterName=name, ShowClusterDetails=True)[
        "MultiRegionClusters"]
    assert [c["ClusterName"] for c in mr["Clusters"]] == ["srv"]
    md.update_cluster(ClusterName="srv", ReplicaConfiguration={"ReplicaCount": 2})
    shards = md.describe_clusters(ClusterName="srv", ShowShardDetails=True)["Clusters"][0]["Shards"]
    assert {s["NumberOfNodes"] for s in shards} == {3}
