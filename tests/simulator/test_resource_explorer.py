"""awssim.resource_explorer and the Tagging API: what tag discovery reads, seeded from the kits' tags.

The estate: two accounts (hub and spoke), Europe -> Asia-Pacific, every taggable technology in each
account, seeded by ``seed_estate`` (tags from the manifest, Resource Explorer on unless told not to).
Everything is read back through boto3, in-process and (one test) over HTTP.
"""

from __future__ import annotations

import boto3
import pytest
from awssim import outage
from awssim.resource_explorer import DEFAULT_VIEW, enable_explorer
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError
from botocore.validate import ParamValidator

from dr_adapters.sources.loader import validate_data
from dr_adapters.sources.planner import build_plan

HUB, SPOKE = "123456789012", "222222222222"
EU, AP = "eu-west-1", "ap-southeast-2"
SCOPE = "tag:dr:enabled=true tag:Customer=globex tag:Environment=production"
ONE_TRY = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=5)


def manifest() -> dict:
    spoke = {"accountId": SPOKE}
    return {
        "manifestVersion": "1.0", "manifestId": "globex-production", "customer": "globex",
        "environment": "production", "regions": {"primary": EU, "dr": AP}, "hubAccountId": HUB,
        "accounts": [{"accountId": SPOKE, "roleArn": f"arn:aws:iam::{SPOKE}:role/dr-orchestration",
                      "externalId": "globex-ext"}],
        "layers": [
            {"layerId": "data", "priority": 1, "resources": [
                {"resourceId": "orders-db", "action": "AuroraMySQL", "config": {
                    "globalClusterIdentifier": "globex-orders-global", "primaryClusterIdentifier": "globex-orders-eu",
                    "drClusterIdentifier": "globex-orders-ap", "mode": "failover", "minDrInstances": 2,
                    "drInstanceClass": "db.r6g.xlarge"}},
                {"resourceId": "billing-db", "action": "AuroraPostgreSQL", **spoke, "config": {
                    "globalClusterIdentifier": "globex-billing-global", "primaryClusterIdentifier": "globex-billing-eu",
                    "drClusterIdentifier": "globex-billing-ap"}}]},
            {"layerId": "servers", "priority": 2, "resources": [
                {"resourceId": "app-01", "action": "DRS", "priority": "critical",
                 "config": {"sourceServerId": "s-0c000000000000001", "sourceInstanceAction": "stop"}},
                {"resourceId": "batch-01", "action": "DRS", **spoke,
                 "config": {"sourceServerId": "s-0c000000000000002"}}]},
            {"layerId": "apps", "priority": 3, "resources": [
                {"resourceId": "orders-api", "action": "EcsService", "dependencies": ["orders-db"], "config": {
                    "cluster": "globex-eu", "service": "orders-api", "desiredCount": 2, "drCluster": "globex-ap",
                    "subnets": ["subnet-a", "subnet-b"], "launchType": "FARGATE"}},
                {"resourceId": "pay-api", "action": "EcsService", **spoke, "dependencies": ["billing-db"],
                 "config": {"cluster": "globex-pay", "service": "pay-api", "desiredCount": 1}},
                {"resourceId": "events", "action": "LambdaFunction", "priority": "high", "config": {
                    "functionName": "globex-events", "drFunctionName": "globex-events-ap", "reservedConcurrency": 50}},
                {"resourceId": "invoices", "action": "LambdaFunction", **spoke,
                 "config": {"functionName": "globex-invoices"}}]},
            {"layerId": "dns", "priority": 4, "resources": [
                {"resourceId": "www", "action": "R53Record", "config": {
                    "hostedZoneId": "Z0GLOBEXEXAMPLE", "recordName": "www.globex.example.",
                    "primaryValues": ["eu.globex.example."], "drValues": ["ap.globex.example."]}}]},
        ],
    }


def plan():
    return build_plan(validate_data(manifest(), "test"), "test")


@pytest.fixture
def estate(aws):
    from awssim.seed import seed_estate

    return seed_estate(plan())


def client(estate, account, service, region, **kw):
    return estate.sessions[None if account == HUB else account].client(service, region_name=region, **kw)


def search_all(re2, query, **kw):
    """Every page of a Search: (resources, the Count of each page)."""
    found, counts, token = [], [], None
    while True:
        page = re2.search(QueryString=query, **kw, **({"NextToken": token} if token else {}))
        found += page["Resources"]
        counts.append(page["Count"])
        token = page.get("NextToken")
        if not token:
            return found, counts


def tags_of(resource):
    props = {p["Name"]: p["Data"] for p in resource["Properties"]}
    return {t["Key"]: t["Value"] for t in props.get("tags", [])}


def summary(resources):
    return {(r["ResourceType"], r["Region"], tags_of(r).get("Name")) for r in resources}


def assert_shape(re2, operation, response):
    shape = re2.meta.service_model.operation_model(operation).output_shape
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(body, shape)
    assert not report.has_errors(), report.generate_report()


def expected(account):
    """(type, region, Name) of what the kits create and tag for each account's resources."""
    if account == HUB:
        return {("rds:global-cluster", "global", "orders-db"), ("rds:cluster", EU, "orders-db"),
                ("rds:cluster", AP, "orders-db"), ("rds:db", EU, "orders-db"),
                ("drs:source-server", AP, "app-01"), ("ec2:instance", EU, "app-01"),
                ("ecs:service", EU, "orders-api"), ("ecs:service", AP, "orders-api"),
                ("lambda:function", EU, "events"), ("lambda:function", AP, "events")}
    return {("rds:global-cluster", "global", "billing-db"), ("rds:cluster", EU, "billing-db"),
            ("rds:cluster", AP, "billing-db"), ("rds:db", EU, "billing-db"),
            ("drs:source-server", AP, "batch-01"), ("ec2:instance", EU, "batch-01"),
            ("ecs:service", EU, "pay-api"), ("ecs:service", AP, "pay-api"),
            ("lambda:function", EU, "invoices"), ("lambda:function", AP, "invoices")}


def test_search_finds_every_dr_tagged_resource_of_each_technology_with_its_tags(estate):
    for account in (HUB, SPOKE):
        re2 = client(estate, account, "resource-explorer-2", EU)  # the account's aggregator
        reply = re2.search(QueryString=SCOPE, MaxResults=1000)
        assert_shape(re2, "Search", reply)
        found = reply["Resources"]
        assert summary(found) == expected(account)
        assert reply["Count"] == {"TotalResources": len(found), "Complete": True}
        assert reply["ViewArn"] == re2.get_default_view()["ViewArn"]
        assert {r["OwningAccountId"] for r in found} == {account}
        assert {r["Service"] for r in found} == {"rds", "drs", "ec2", "ecs", "lambda"}
    hub = {r["Arn"]: r for r in client(estate, HUB, "resource-explorer-2", EU).search(QueryString=SCOPE)["Resources"]}

    # ARNs are the ones each service reports
    rds = client(estate, HUB, "rds", EU)
    (gc,) = rds.describe_global_clusters(GlobalClusterIdentifier="globex-orders-global")["GlobalClusters"]
    assert tags_of(hub[gc["GlobalClusterArn"]]) == {
        "Customer": "globex", "Environment": "production", "dr:enabled": "true", "dr:wave": "1", "Name": "orders-db",
        "dr:recovery-strategy": "failover", "dr:min-dr-instances": "2", "dr:dr-instance-class": "db.r6g.xlarge"}
    assert {t["Key"]: t["Value"] for t in gc["TagList"]} == tags_of(hub[gc["GlobalClusterArn"]])
    (server,) = client(estate, HUB, "drs", AP).describe_source_servers(filters={})["items"]
    assert tags_of(hub[server["arn"]]) == server["tags"] == {
        "Customer": "globex", "Environment": "production", "dr:enabled": "true", "dr:wave": "2", "Name": "app-01",
        "dr:priority": "critical", "dr:source-instance-action": "stop"}
    for region, cluster, name in ((EU, "globex-eu", "orders-api"), (AP, "globex-ap", "orders-api")):
        (svc,) = client(estate, HUB, "ecs", region).describe_services(
            cluster=cluster, services=[name], include=["TAGS"])["services"]
        assert tags_of(hub[svc["serviceArn"]]) == {
            "Customer": "globex", "Environment": "production", "dr:enabled": "true", "dr:wave": "3",
            "Name": "orders-api", "dr:dependencies": "orders-db", "dr:dr-cluster": "globex-ap",
            "dr:subnets": "subnet-a subnet-b", "dr:launch-type": "FARGATE"}
    for region, name in ((EU, "globex-events"), (AP, "globex-events-ap")):
        fn = client(estate, HUB, "lambda", region).get_function(FunctionName=name)
        assert tags_of(hub[fn["Configuration"]["FunctionArn"]]) == fn["Tags"] == {
            "Customer": "globex", "Environment": "production", "dr:enabled": "true", "dr:wave": "3",
            "Name": "events", "dr:priority": "high", "dr:dr-function-name": "globex-events-ap",
            "dr:reserved-concurrency": "50"}


def test_a_local_index_covers_its_own_region_and_the_global_cluster(estate):
    re2 = client(estate, HUB, "resource-explorer-2", AP)
    assert re2.get_index()["Type"] == "LOCAL" and re2.get_index()["ReplicatingTo"] == [EU]
    found = re2.search(QueryString=SCOPE)["Resources"]
    assert summary(found) == {e for e in expected(HUB) if e[1] in (AP, "global")}
    eu = client(estate, HUB, "resource-explorer-2", EU).get_index()
    assert eu["Type"] == "AGGREGATOR" and eu["ReplicatingFrom"] == [AP]
    listed = re2.list_indexes()
    assert_shape(re2, "ListIndexes", listed)
    assert sorted((i["Region"], i["Type"]) for i in listed["Indexes"]) == [(AP, "LOCAL"), (EU, "AGGREGATOR")]


def test_view_filter_negation_resourcetype_and_keywords(estate):
    re2 = client(estate, HUB, "resource-explorer-2", EU)
    view = re2.create_view(ViewName="ecs-only", Filters={"FilterString": "resourcetype:ecs:service"})["View"]
    assert_shape(re2, "GetView", re2.get_view(ViewArn=view["ViewArn"]))
    ecs = re2.search(QueryString=SCOPE, ViewArn=view["ViewArn"])["Resources"]
    assert {(r["ResourceType"], r["Region"]) for r in ecs} == {("ecs:service", EU), ("ecs:service", AP)}
    assert all(r["Properties"] == [] for r in ecs)  # the view does not include the tags property

    def types(query):
        return {(r["ResourceType"], r["Region"]) for r in re2.search(QueryString=query)["Resources"]}

    assert types(f"{SCOPE} resourcetype:drs:source-server") == {("drs:source-server", AP)}
    assert types(f"{SCOPE} -region:{EU} -region:global") == {
        (t, r) for t, r, _ in expected(HUB) if r == AP}
    assert types(f"{SCOPE} service:rds -resourcetype:rds:db") == {
        ("rds:global-cluster", "global"), ("rds:cluster", EU), ("rds:cluster", AP)}
    assert types(f"{SCOPE} -tag:dr:wave=3 -tag:dr:wave=1") == {("drs:source-server", AP), ("ec2:instance", EU)}
    assert types(f"{SCOPE} tag.key:dr:subnets") == {("ecs:service", EU), ("ecs:service", AP)}
    assert types(f"{SCOPE} region:ap-*") == {(t, r) for t, r, _ in expected(HUB) if r == AP}
    assert types("TAG:CUSTOMER=GLOBEX tag:dr:enabled=TRUE resourcetype:lambda:function") == {
        ("lambda:function", EU), ("lambda:function", AP)}  # case-insensitive, like AWS
    assert types(f"{SCOPE} function:globex-events-ap nothing-like-this") == {("lambda:function", AP)}  # keywords: OR
    assert types("tag:Customer=initech") == set()
    with pytest.raises(ClientError, match="ValidationException"):
        re2.create_view(ViewName="free-text", Filters={"FilterString": "orders"})  # filters only in a view


def test_pagination_walks_every_page(estate):
    re2 = client(estate, HUB, "resource-explorer-2", EU)
    found, counts = search_all(re2, SCOPE, MaxResults=2)
    assert len(found) == len(expected(HUB)) and len(counts) == 5
    assert summary(found) == expected(HUB) and len({r["Arn"] for r in found}) == len(found)
    assert all(c == {"TotalResources": len(found), "Complete": True} for c in counts)  # in every page
    paged = [r["Arn"] for page in re2.get_paginator("search").paginate(QueryString=SCOPE, MaxResults=3)
             for r in page["Resources"]]
    assert paged == [r["Arn"] for r in found]
    with pytest.raises(ClientError, match="ValidationException"):
        re2.search(QueryString=SCOPE, NextToken="not-a-token")


def test_a_query_matching_over_1000_resources_stops_counting_at_1000(aws):
    sns = aws.client("sns", region_name=EU)
    for n in range(1005):
        sns.create_topic(Name=f"bulk-{n:04}", Tags=[{"Key": "bulk", "Value": "yes"}])
    enable_explorer(aws, EU, aggregator=True)
    re2 = aws.client("resource-explorer-2", region_name=EU)
    reply = re2.search(QueryString="tag:bulk=yes", MaxResults=1000)
    assert len(reply["Resources"]) == 1000 and "NextToken" not in reply
    assert reply["Count"] == {"TotalResources": 1000, "Complete": False}
    found, counts = search_all(re2, "tag:bulk=yes", MaxResults=400)
    assert len(found) == 1000 and all(c == {"TotalResources": 1000, "Complete": False} for c in counts)
    assert re2.search(QueryString="tag:bulk=yes -bulk-1004")["Count"] == {"TotalResources": 1000, "Complete": False}
    narrower = re2.search(QueryString="tag:bulk=yes bulk-100*")  # refine the query, as AWS advises
    assert narrower["Count"] == {"TotalResources": 5, "Complete": True}  # bulk-1000 .. bulk-1004
    listed = [r for page in re2.get_paginator("list_resources").paginate(Filters={"FilterString": "tag:bulk=yes"})
              for r in page["Resources"]]
    assert len(listed) == 1005  # ListResources is not capped


def test_refusals(aws):
    re2 = aws.client("resource-explorer-2", region_name=EU)
    for call, code in ((lambda: re2.search(QueryString=SCOPE), "UnauthorizedException"),
                       (lambda: re2.get_index(), "ResourceNotFoundException"),
                       (lambda: re2.create_view(ViewName="v"), "UnauthorizedException")):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == code
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    index = re2.create_index()["Arn"]
    with pytest.raises(ClientError, match="ConflictException"):
        re2.create_index()  # one index per region
    with pytest.raises(ClientError, match="UnauthorizedException"):
        re2.search(QueryString=SCOPE)  # an index but no default view, and no ViewArn
    assert "ViewArn" not in re2.get_default_view()
    view = re2.create_view(ViewName="v", IncludedProperties=[{"Name": "tags"}])["View"]["ViewArn"]
    with pytest.raises(ClientError, match="ConflictException"):
        re2.create_view(ViewName="v")
    assert re2.search(QueryString="", ViewArn=view)["ViewArn"] == view  # an explicit view needs no default

    ap = aws.client("resource-explorer-2", region_name=AP)
    ap_index = ap.create_index()["Arn"]
    re2.update_index_type(Arn=index, Type="AGGREGATOR")
    with pytest.raises(ClientError) as err:
        ap.update_index_type(Arn=ap_index, Type="AGGREGATOR")  # one aggregator per account
    assert err.value.response["Error"]["Code"] == "ConflictException" and EU in str(err.value)
    with pytest.raises(ClientError, match="UnauthorizedException"):
        ap.search(QueryString="", ViewArn=view)  # another region's view
    with pytest.raises(ClientError, match="ValidationException"):
        ap.associate_default_view(ViewArn=view)
    re2.update_index_type(Arn=index, Type="LOCAL")
    assert ap.update_index_type(Arn=ap_index, Type="AGGREGATOR")["Type"] == "AGGREGATOR"

    re2.associate_default_view(ViewArn=view)
    assert re2.delete_index(Arn=index)["State"] == "DELETING"
    assert re2.list_views()["Views"] == []  # deleting the index deletes the region's views
    with pytest.raises(ClientError, match="UnauthorizedException"):
        re2.search(QueryString="")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        re2.get_view(ViewArn=view)


def test_accounts_are_isolated(estate):
    hub, spoke = (client(estate, a, "resource-explorer-2", EU) for a in (HUB, SPOKE))
    hub_arns = {r["Arn"] for r in hub.search(QueryString="")["Resources"]}
    spoke_arns = {r["Arn"] for r in spoke.search(QueryString="")["Resources"]}
    assert hub_arns and spoke_arns and not hub_arns & spoke_arns
    assert {arn.split(":")[4] for arn in spoke_arns} == {SPOKE}
    with pytest.raises(ClientError, match="UnauthorizedException"):
        spoke.search(QueryString="", ViewArn=hub.get_default_view()["ViewArn"])
    assert [i["Arn"].split(":")[4] for i in spoke.list_indexes()["Indexes"]] == [SPOKE, SPOKE]


def test_without_explorer_the_tagging_api_finds_drs_servers_and_global_clusters(aws):
    from awssim.seed import seed_estate

    estate = seed_estate(plan(), explorer=False)
    for account in (HUB, SPOKE):
        with pytest.raises(ClientError, match="UnauthorizedException"):
            client(estate, account, "resource-explorer-2", EU).search(QueryString=SCOPE)
        tagging = client(estate, account, "resourcegroupstaggingapi", AP)
        filters = [{"Key": "dr:enabled", "Values": ["true"]}, {"Key": "Customer", "Values": ["globex"]},
                   {"Key": "Environment", "Values": ["production"]}]
        found, token = [], ""
        while True:
            page = tagging.get_resources(TagFilters=filters, ResourcesPerPage=1, PaginationToken=token)
            found += page["ResourceTagMappingList"]
            token = page.get("PaginationToken")
            if not token:
                break
        names = {(m["ResourceARN"].split(":")[2], {t["Key"]: t["Value"] for t in m["Tags"]}["Name"]) for m in found}
        assert names == {(e[0].split(":")[0], e[2]) for e in expected(account) if e[1] in (AP, "global")}
    tagging = client(estate, HUB, "resourcegroupstaggingapi", AP)
    (server,) = tagging.get_resources(ResourceTypeFilters=["drs:source-server"])["ResourceTagMappingList"]
    (gc,) = tagging.get_resources(ResourceTypeFilters=["rds:global-cluster"])["ResourceTagMappingList"]
    assert gc["ResourceARN"] == f"arn:aws:rds::{HUB}:global-cluster:globex-orders-global"

    # TagResources / UntagResources reach DRS source servers and global clusters too
    for arn in (server["ResourceARN"], gc["ResourceARN"]):
        assert tagging.tag_resources(ResourceARNList=[arn], Tags={"dr:wave": "5"})["FailedResourcesMap"] == {}
        tagging.untag_resources(ResourceARNList=[arn], TagKeys=["Name"])
    drs_tags = client(estate, HUB, "drs", AP).list_tags_for_resource(resourceArn=server["ResourceARN"])["tags"]
    rds_tags = client(estate, HUB, "rds", EU).list_tags_for_resource(ResourceName=gc["ResourceARN"])["TagList"]
    for tags in (drs_tags, {t["Key"]: t["Value"] for t in rds_tags}):
        assert tags["dr:wave"] == "5" and "Name" not in tags


def test_global_cluster_tags_from_create_and_by_global_arn(aws):
    rds = aws.client("rds", region_name=EU)
    arn = rds.create_global_cluster(GlobalClusterIdentifier="g1", Engine="aurora-mysql",
                                    Tags=[{"Key": "dr:enabled", "Value": "true"}])["GlobalCluster"]["GlobalClusterArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "dr:wave", "Value": "1"}])
    rds.remove_tags_from_resource(ResourceName=arn, TagKeys=["dr:enabled"])
    (gc,) = aws.client("rds", region_name=AP).describe_global_clusters(GlobalClusterIdentifier="g1")["GlobalClusters"]
    assert gc["TagList"] == [{"Key": "dr:wave", "Value": "1"}]
    with pytest.raises(ClientError, match="GlobalClusterNotFoundFault"):
        rds.list_tags_for_resource(ResourceName=f"arn:aws:rds::{HUB}:global-cluster:nope")


def test_a_dark_region_refuses_both_apis(estate):
    with outage.outage(EU):
        for service, call in (("resource-explorer-2", lambda c: c.search(QueryString=SCOPE)),
                              ("resourcegroupstaggingapi", lambda c: c.get_resources())):
            with pytest.raises(ConnectionClosedError):
                call(client(estate, HUB, service, EU, config=ONE_TRY))
        # the surviving region's local index still finds its resources, and the global cluster
        found = client(estate, HUB, "resource-explorer-2", AP).search(QueryString=SCOPE)["Resources"]
        assert ("rds:global-cluster", "global", "orders-db") in summary(found)
        assert {r["Region"] for r in found} == {AP, "global"}


def test_server_mode_serves_resource_explorer_and_its_outage():
    from awssim.kits.drs import seed_drs_servers
    from awssim.server import SimulatorServer
    from moto.core.base_backend import BackendDict

    BackendDict.reset()  # the server shares this process's moto state: start clean
    with SimulatorServer() as server:
        session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x")
        seed_drs_servers(HUB, EU, AP, ["web-1"], {"dr:enabled": "true", "Customer": "globex"})
        setup = enable_explorer(session, AP, aggregator=True, endpoint_url=server.url)
        assert setup["type"] == "AGGREGATOR" and f"view/{DEFAULT_VIEW}/" in setup["default_view"]
        assert enable_explorer(session, AP, endpoint_url=server.url) == setup  # idempotent
        re2 = session.client("resource-explorer-2", region_name=AP, endpoint_url=server.url, config=ONE_TRY)
        (found,) = re2.search(QueryString="tag:dr:enabled=true resourcetype:drs:source-server")["Resources"]
        assert tags_of(found) == {"dr:enabled": "true", "Customer": "globex"} and found["Region"] == AP
        server.outage(AP)
        try:
            with pytest.raises(ConnectionClosedError):
                re2.search(QueryString="")
            assert server.outage_state()["refused"].get(AP, 0) >= 1
        finally:
            server.outage()
            BackendDict.reset()
