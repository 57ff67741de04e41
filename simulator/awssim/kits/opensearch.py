"""OpenSearch kit: a domain in each region, the primary's at the production shape and the leader, DR's at
the pilot-light shape following it over an ACTIVE cross-cluster connection (opened by the follower, as
replication's pull model has it). Both domains carry the resource's tags; connections take none."""

from __future__ import annotations

import os
import time
from typing import Any

import boto3

from awssim.kits import DR, PRIMARY, Drive, Estate, Kit, Seed

ENGINE = "OpenSearch_2.11"
DEFAULT_ALIAS = "leader"
GONE = ("VALIDATION_FAILED", "REJECTING", "REJECTED", "DELETING", "DELETED")


def _es(session: boto3.Session, region: str, endpoint_url: str | None = None) -> Any:
    return session.client("opensearch", region_name=region, endpoint_url=endpoint_url)


def create_domain(session: boto3.Session, region: str, name: str, instance_type: str, count: int,
                  tags: dict[str, str], endpoint_url: str | None = None) -> str:
    """A domain cross-cluster connections accept (fine-grained access control, node-to-node and at-rest
    encryption, HTTPS only); returns its ARN."""
    return _es(session, region, endpoint_url).create_domain(
        DomainName=name, EngineVersion=ENGINE,
        ClusterConfig={"InstanceType": instance_type, "InstanceCount": count},
        EBSOptions={"EBSEnabled": True, "VolumeType": "gp3", "VolumeSize": 20},
        NodeToNodeEncryptionOptions={"Enabled": True}, EncryptionAtRestOptions={"Enabled": True},
        DomainEndpointOptions={"EnforceHTTPS": True},
        AdvancedSecurityOptions={"Enabled": True, "InternalUserDatabaseEnabled": True,
                                 "MasterUserOptions": {"MasterUserName": "admin", "MasterUserPassword": "Not-a-real-pw1"}},
        TagList=[{"Key": k, "Value": v} for k, v in tags.items()],
    )["DomainStatus"]["ARN"]


def _wait_status(describe: Any, connection_id: str, wanted: tuple[str, ...]) -> str:
    """Poll a connection until its status is one of ``wanted`` (the simulator moves it after a delay)."""
    deadline = time.time() + 4 * float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0")) + 10
    while True:
        found = describe(Filters=[{"Name": "connection-id", "Values": [connection_id]}])["Connections"]
        status = found[0]["ConnectionStatus"]["StatusCode"] if found else "missing"
        if status in wanted or time.time() > deadline:
            return status
        time.sleep(0.05)


def connect(session: boto3.Session, account: str, follower: tuple[str, str], leader: tuple[str, str],
            alias: str = DEFAULT_ALIAS, endpoint_url: str | None = None) -> str:
    """Make ``follower`` (region, domain) follow ``leader``: its outbound connection, accepted by the
    leader's owner, ACTIVE; returns the connection id."""
    out, into = _es(session, follower[0], endpoint_url), _es(session, leader[0], endpoint_url)
    cid = out.create_outbound_connection(
        LocalDomainInfo={"AWSDomainInformation": {"OwnerId": account, "DomainName": follower[1], "Region": follower[0]}},
        RemoteDomainInfo={"AWSDomainInformation": {"OwnerId": account, "DomainName": leader[1], "Region": leader[0]}},
        ConnectionAlias=alias)["ConnectionId"]
    status = _wait_status(out.describe_outbound_connections, cid, ("PENDING_ACCEPTANCE", *GONE))
    if status != "PENDING_ACCEPTANCE":
        raise RuntimeError(f"connection {cid} from {follower} to {leader} is {status}")
    into.accept_inbound_connection(ConnectionId=cid)
    _wait_status(into.describe_inbound_connections, cid, ("ACTIVE",))
    return cid


def seed_pair(session: boto3.Session, primary: str, dr: str, config: dict[str, Any], tags: dict[str, str],
              endpoint_url: str | None = None) -> None:
    """The primary domain (production shape, leader) and the DR one (pilot light) following it."""
    name, dr_name = config["domainName"], config.get("drDomainName") or config["domainName"]
    arn = create_domain(session, primary, name, config["instanceType"], config["instanceCount"], tags, endpoint_url)
    create_domain(session, dr, dr_name, config.get("pilotInstanceType") or config["instanceType"],
                  config.get("pilotInstanceCount", 1), tags, endpoint_url)
    connect(session, arn.split(":")[4], (dr, dr_name), (primary, name), config.get("connectionAlias", DEFAULT_ALIAS),
            endpoint_url)


def _domains(estate: Estate, config: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """side -> (region, domain name) as the manifest names them."""
    return {PRIMARY: (estate.primary, config["domainName"]),
            DR: (estate.dr, config.get("drDomainName") or config["domainName"])}


class OpenSearchKit(Kit):
    actions = ("OpenSearchService",)
    services = ("opensearch",)
    acts = {"failover": frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP", "REPLICATE"}),
            "failback": frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP", "REPLICATE"})}
    kind, rank = "search", 20

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        config: dict[str, Any] = {"domainName": f"{customer}-search{n}"[:28], "instanceType": "r6g.large.search",
                                  "instanceCount": 3, "pilotInstanceType": "m6g.large.search"}
        if spoke:  # another name on the DR side, and a non-default alias: what discovery must read back
            config.update(drDomainName=f"{customer}-search{n}-dr"[:28], connectionAlias="primary-leader")
        return config

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for item in items:
            seed_pair(estate.session(item.resource.account_id), estate.primary, estate.dr, item.resource.config,
                      item.tags)

    # -- the oracle -----------------------------------------------------------------------------
    def serving_role(self, estate: Estate, resource: Any) -> Any:
        """Each side's shape, and which side follows the other (alias and status of its live connection)."""
        session = estate.session(resource.account_id)
        domains = _domains(estate, resource.config)
        role: dict[str, Any] = {"shape": {}, "follows": {}}
        for side, (region, name) in domains.items():
            es = _es(session, region)
            found = es.describe_domains(DomainNames=[name])["DomainStatusList"]
            cluster = found[0]["ClusterConfig"] if found else {}
            role["shape"][side] = f"{cluster.get('InstanceCount')} x {cluster.get('InstanceType')}" if found else None
            other_region, other = domains[DR if side == PRIMARY else PRIMARY]
            for c in es.describe_outbound_connections(Filters=[
                    {"Name": "local-domain-info.domain-name", "Values": [name]},
                    {"Name": "remote-domain-info.domain-name", "Values": [other]},
                    {"Name": "remote-domain-info.region", "Values": [other_region]}])["Connections"]:
                status = c["ConnectionStatus"]["StatusCode"]
                if status not in GONE:
                    role["follows"][side] = f"{c['ConnectionAlias']} {status}"
        return role

    @staticmethod
    def _serving(resource: Any, role: Any, side: str) -> bool:
        """A side serves when it follows no one and runs at the production shape."""
        production = f"{resource.config['instanceCount']} x {resource.config['instanceType']}"
        return side not in role["follows"] and role["shape"][side] == production

    def serves_from(self, resource: Any, role: Any) -> str | None:
        serving = [side for side in (PRIMARY, DR) if self._serving(resource, role, side)]
        return serving[0] if len(serving) == 1 else None

    def serves_in(self, estate: Estate, resource: Any, side: str) -> bool:
        return self._serving(resource, self.serving_role(estate, resource), side)

    def state(self, session: boto3.Session, region: str) -> Any:
        es = _es(session, region)
        names = [d["DomainName"] for d in es.list_domain_names()["DomainNames"]]
        domains = []
        for i in range(0, len(names), 5):
            for d in es.describe_domains(DomainNames=names[i:i + 5])["DomainStatusList"]:
                domains.append((d["DomainName"], d["ClusterConfig"]["InstanceType"], d["ClusterConfig"]["InstanceCount"]))
        connections = sorted(
            (c["LocalDomainInfo"]["AWSDomainInformation"]["DomainName"],
             c["RemoteDomainInfo"]["AWSDomainInformation"]["Region"],
             c["RemoteDomainInfo"]["AWSDomainInformation"]["DomainName"],
             c["ConnectionAlias"], c["ConnectionStatus"]["StatusCode"])
            for c in es.describe_outbound_connections()["Connections"])
        return sorted(domains), connections

    # -- breaking it on purpose -----------------------------------------------------------------
    def break_resource(self, estate: Estate, resource: Any) -> str:
        # The leader's owner drops the DR domain's connection: replication stops, the pilot light goes stale.
        primary, dr = _domains(estate, resource.config).values()
        es = _es(estate.session(resource.account_id), primary[0])
        for c in es.describe_inbound_connections(Filters=[
                {"Name": "remote-domain-info.domain-name", "Values": [primary[1]]},
                {"Name": "local-domain-info.domain-name", "Values": [dr[1]]}])["Connections"]:
            if c["ConnectionStatus"]["StatusCode"] not in GONE:
                es.delete_inbound_connection(ConnectionId=c["ConnectionId"])
        return "does not follow"

    # -- least privilege --------------------------------------------------------------------------
    def iam_variants(self, estate: Estate, drive: Drive) -> None:
        """The mini-estate's failover, failback and drill call every granted action already."""
