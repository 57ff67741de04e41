"""awssim.opensearch: OpenSearch cross-cluster connections and slow domain changes that moto 5.2 lacks,
answered in botocore's shapes and refused where AWS refuses."""

from __future__ import annotations

import time

import boto3
import botocore.session
import pytest
from awssim.kits.opensearch import connect, create_domain
from botocore.exceptions import ClientError

PRIMARY, DR = "eu-west-1", "ap-southeast-2"
HUB, SPOKE = "123456789012", "444455556666"
TAGS = {"Customer": "globex", "Environment": "staging"}
MODEL = botocore.session.get_session().get_service_model("opensearch")


def es(session, region, endpoint_url=None):
    return session.client("opensearch", region_name=region, endpoint_url=endpoint_url)


def info(name, region, account=HUB):
    return {"AWSDomainInformation": {"OwnerId": account, "DomainName": name, "Region": region}}


def request(session, follower=("ap-southeast-2", "search-dr"), leader=(PRIMARY, "search"), alias="leader", **kwargs):
    return es(session, follower[0], kwargs.pop("endpoint_url", None)).create_outbound_connection(
        LocalDomainInfo=info(follower[1], follower[0]), RemoteDomainInfo=info(leader[1], leader[0]),
        ConnectionAlias=alias, **kwargs)


def status(client, connection_id, *, inbound=False):
    describe = client.describe_inbound_connections if inbound else client.describe_outbound_connections
    found = describe(Filters=[{"Name": "connection-id", "Values": [connection_id]}])["Connections"]
    return found[0]["ConnectionStatus"]["StatusCode"] if found else None


def code(err):
    return err.value.response["Error"]["Code"]


def conforms(value, shape, path="reply"):
    """Every key of ``value`` is a member of the botocore shape, recursively, with the enum values it allows."""
    if shape.type_name == "structure":
        assert isinstance(value, dict), path
        unknown = set(value) - set(shape.members) - {"ResponseMetadata"}
        assert not unknown, f"{path}: {unknown} not in {shape.name}"
        for key, item in value.items():
            if key != "ResponseMetadata":
                conforms(item, shape.members[key], f"{path}.{key}")
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            conforms(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "string" and shape.enum:
        assert value in shape.enum, f"{path}: {value!r} not in {shape.enum}"


def reply_conforms(operation, reply):
    conforms(reply, MODEL.operation_model(operation).output_shape)


@pytest.fixture
def domains(aws):
    create_domain(aws, PRIMARY, "search", "r6g.large.search", 3, TAGS)
    create_domain(aws, DR, "search-dr", "r6g.large.search", 1, TAGS)
    return aws


def test_a_connection_validates_waits_for_acceptance_then_becomes_active(domains, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    reply = request(domains)
    reply_conforms("CreateOutboundConnection", reply)
    cid, follower, leader = reply["ConnectionId"], es(domains, DR), es(domains, PRIMARY)
    assert reply["ConnectionStatus"]["StatusCode"] == "VALIDATING"
    assert status(leader, cid, inbound=True) is None  # the remote owner sees nothing until it is validated
    with pytest.raises(ClientError) as err:
        leader.accept_inbound_connection(ConnectionId=cid)
    assert code(err) == "ResourceNotFoundException"
    time.sleep(0.35)
    assert status(follower, cid) == status(leader, cid, inbound=True) == "PENDING_ACCEPTANCE"
    accepted = leader.accept_inbound_connection(ConnectionId=cid)
    reply_conforms("AcceptInboundConnection", accepted)
    assert accepted["Connection"]["ConnectionStatus"]["StatusCode"] == "APPROVED"
    time.sleep(0.17)
    assert status(follower, cid) == "PROVISIONING"
    time.sleep(0.2)
    assert status(follower, cid) == status(leader, cid, inbound=True) == "ACTIVE"
    reply_conforms("DescribeOutboundConnections", follower.describe_outbound_connections())
    reply_conforms("DescribeInboundConnections", leader.describe_inbound_connections())
    (outbound,) = follower.describe_outbound_connections()["Connections"]
    assert outbound["ConnectionAlias"] == "leader" and outbound["ConnectionMode"] == "DIRECT"
    assert outbound["LocalDomainInfo"] == info("search-dr", DR) and outbound["RemoteDomainInfo"] == info("search", PRIMARY)


def test_deleting_from_either_side_deletes_the_pair_and_it_stays_listed(domains, monkeypatch):
    cid = connect(domains, HUB, (DR, "search-dr"), (PRIMARY, "search"))
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.2")
    leader, follower = es(domains, PRIMARY), es(domains, DR)
    deleted = leader.delete_inbound_connection(ConnectionId=cid)
    reply_conforms("DeleteInboundConnection", deleted)
    assert status(follower, cid) == status(leader, cid, inbound=True) == "DELETING"
    with pytest.raises(ClientError) as err:  # a second delete, from either side
        follower.delete_outbound_connection(ConnectionId=cid)
    assert code(err) == "ResourceNotFoundException"
    time.sleep(0.25)
    assert status(follower, cid) == "DELETED"  # AWS keeps a deleted connection listed for 15 days
    # the alias is free again, and the domain may go once it has no live connection
    assert request(domains)["ConnectionStatus"]["StatusCode"] == "VALIDATING"


def test_rejected_connections(domains, monkeypatch):
    cid = request(domains)["ConnectionId"]
    leader = es(domains, PRIMARY)
    reply = leader.reject_inbound_connection(ConnectionId=cid)
    reply_conforms("RejectInboundConnection", reply)
    assert status(es(domains, DR), cid) == "REJECTED"
    with pytest.raises(ClientError) as err:
        leader.accept_inbound_connection(ConnectionId=cid)
    assert code(err) == "ValidationException" and "REJECTED" in str(err.value)


@pytest.mark.parametrize("change, message", [
    ({"remote": "nope"}, "was not found"),
    ({"leader_options": {"NodeToNodeEncryptionOptions": {"Enabled": False}}}, "node-to-node encryption"),
    ({"leader_options": {"AdvancedSecurityOptions": {"Enabled": False}}}, "fine-grained access control"),
    ({"leader_version": "OpenSearch_1.3"}, "same or a higher version"),
])
def test_incompatible_domains_fail_validation(aws, change, message):
    create_domain(aws, DR, "search-dr", "r6g.large.search", 1, TAGS)
    options = {"EngineVersion": change.get("leader_version", "OpenSearch_2.11"),
               "NodeToNodeEncryptionOptions": {"Enabled": True}, "AdvancedSecurityOptions": {"Enabled": True},
               **change.get("leader_options", {})}
    es(aws, PRIMARY).create_domain(DomainName="search", ClusterConfig={"InstanceType": "r6g.large.search"}, **options)
    reply = request(aws, leader=(PRIMARY, change.get("remote", "search")))
    cid = reply["ConnectionId"]
    (failed,) = es(aws, DR).describe_outbound_connections()["Connections"]
    assert failed["ConnectionStatus"]["StatusCode"] == "VALIDATION_FAILED"
    assert message in failed["ConnectionStatus"]["Message"]
    assert status(es(aws, PRIMARY), cid, inbound=True) is None  # never reached the remote owner


def test_refusals(domains):
    follower, leader = es(domains, DR), es(domains, PRIMARY)
    cid = request(domains)["ConnectionId"]
    refused = {
        "ResourceAlreadyExistsException": lambda: request(domains),  # one live connection per alias
        "ValidationException": lambda: request(domains, follower=(DR, "search-dr"), leader=(DR, "search-dr"), alias="xx"),
        "ResourceNotFoundException": lambda: request(domains, follower=(DR, "nope"), alias="xx"),
    }
    for expected, call in refused.items():
        with pytest.raises(ClientError) as err:
            call()
        assert code(err) == expected
    with pytest.raises(ClientError) as err:  # the local domain is the caller's own, in the called region
        follower.create_outbound_connection(LocalDomainInfo=info("search", PRIMARY),
                                            RemoteDomainInfo=info("search-dr", DR), ConnectionAlias="xx")
    assert code(err) == "ValidationException"
    leader.accept_inbound_connection(ConnectionId=cid)
    with pytest.raises(ClientError) as err:
        leader.accept_inbound_connection(ConnectionId=cid)
    assert code(err) == "ValidationException"
    for call in (lambda: leader.accept_inbound_connection(ConnectionId="cc-unknown0000"),
                 lambda: follower.delete_outbound_connection(ConnectionId="cc-unknown0000"),
                 lambda: follower.delete_inbound_connection(ConnectionId=cid)):  # DR is not the remote side
        with pytest.raises(ClientError) as err:
            call()
        assert code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        follower.describe_outbound_connections(Filters=[{"Name": "status", "Values": ["ACTIVE"]}])
    assert code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        follower.describe_outbound_connections(NextToken="not-a-token")
    assert code(err) == "InvalidPaginationTokenException"
    with pytest.raises(ClientError) as err:  # AWS: remove a domain's connections before deleting it
        leader.delete_domain(DomainName="search")
    assert code(err) == "ValidationException"


def test_a_domain_connects_to_at_most_twenty_others(aws):
    create_domain(aws, DR, "hub-domain", "r6g.large.search", 1, TAGS)
    for n in range(21):
        create_domain(aws, PRIMARY, f"leader-{n}", "r6g.large.search", 1, TAGS)
    for n in range(20):
        request(aws, follower=(DR, "hub-domain"), leader=(PRIMARY, f"leader-{n}"), alias=f"a{n}")
    with pytest.raises(ClientError) as err:
        request(aws, follower=(DR, "hub-domain"), leader=(PRIMARY, "leader-20"), alias="a20")
    assert code(err) == "LimitExceededException"
    page = es(aws, DR).describe_outbound_connections(MaxResults=15)
    rest = es(aws, DR).describe_outbound_connections(MaxResults=15, NextToken=page["NextToken"])
    assert len(page["Connections"]) == 15 and len(rest["Connections"]) == 5 and "NextToken" not in rest


def test_connections_cross_accounts(aws):
    creds = aws.client("sts").assume_role(RoleArn=f"arn:aws:iam::{SPOKE}:role/x", RoleSessionName="test")["Credentials"]
    spoke = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                          aws_session_token=creds["SessionToken"], region_name=PRIMARY)
    create_domain(aws, DR, "search-dr", "r6g.large.search", 1, TAGS)
    create_domain(spoke, PRIMARY, "search", "r6g.large.search", 3, TAGS)
    cid = es(aws, DR).create_outbound_connection(
        LocalDomainInfo=info("search-dr", DR), RemoteDomainInfo=info("search", PRIMARY, SPOKE),
        ConnectionAlias="leader")["ConnectionId"]
    assert status(es(aws, PRIMARY), cid, inbound=True) is None  # not the hub's: the spoke owns the leader
    assert status(es(spoke, PRIMARY), cid, inbound=True) == "PENDING_ACCEPTANCE"
    es(spoke, PRIMARY).accept_inbound_connection(ConnectionId=cid)
    assert status(es(aws, DR), cid) == "ACTIVE"


def test_a_configuration_change_keeps_the_domain_processing_and_refuses_another(domains, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    client = es(domains, DR)
    reply = client.update_domain_config(DomainName="search-dr", ClusterConfig={"InstanceCount": 3})
    cluster = reply["DomainConfig"]["ClusterConfig"]["Options"]
    assert (cluster["InstanceType"], cluster["InstanceCount"]) == ("r6g.large.search", 3)  # merged, as AWS does
    (domain,) = client.describe_domains(DomainNames=["search-dr"])["DomainStatusList"]
    assert domain["Processing"] is True
    with pytest.raises(ClientError) as err:
        client.update_domain_config(DomainName="search-dr", ClusterConfig={"InstanceCount": 1})
    assert code(err) == "ValidationException" and "in progress" in str(err.value)
    time.sleep(0.35)
    assert client.describe_domain(DomainName="search-dr")["DomainStatus"]["Processing"] is False
    for bad in ({"InstanceType": "r6g.large"}, {"InstanceCount": 0}):
        with pytest.raises(ClientError) as err:
            client.update_domain_config(DomainName="search-dr", ClusterConfig=bad)
        assert code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        client.update_domain_config(DomainName="nope", ClusterConfig={"InstanceCount": 1})
    assert code(err) == "ResourceNotFoundException"
    for names in ([], [f"dom{n}" for n in range(6)]):
        with pytest.raises(ClientError) as err:
            client.describe_domains(DomainNames=names)
        assert code(err) == "ValidationException"


def test_domains_are_taggable_resources(domains):
    tagging = domains.client("resourcegroupstaggingapi", region_name=DR)
    (found,) = tagging.get_resources(ResourceTypeFilters=["es:domain"])["ResourceTagMappingList"]
    assert found["ResourceARN"] == f"arn:aws:es:{DR}:{HUB}:domain/search-dr"
    tagging.tag_resources(ResourceARNList=[found["ResourceARN"]], Tags={"dr:wave": "2"})
    tags = es(domains, DR).list_tags(ARN=found["ResourceARN"])["TagList"]
    assert {t["Key"]: t["Value"] for t in tags} == {**TAGS, "dr:wave": "2"}
    with pytest.raises(ClientError) as err:
        es(domains, DR).list_tags(ARN=f"arn:aws:es:{DR}:{HUB}:domain/nope")
    assert code(err) == "ResourceNotFoundException"


def test_server_mode(server_url):
    url = server_url
    session = boto3.Session(region_name=PRIMARY, aws_access_key_id="testing", aws_secret_access_key="testing")
    create_domain(session, PRIMARY, "search", "r6g.large.search", 3, TAGS, url)
    create_domain(session, DR, "search-dr", "r6g.large.search", 1, TAGS, url)
    cid = connect(session, HUB, (DR, "search-dr"), (PRIMARY, "search"), endpoint_url=url)
    assert status(es(session, DR, url), cid) == "ACTIVE"
    with pytest.raises(ClientError) as err:
        request(session, endpoint_url=url)
    assert code(err) == "ResourceAlreadyExistsException"
