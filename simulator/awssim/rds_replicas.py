"""RDS DB-instance read replicas across regions, on top of moto's RDS: what a DR failover of a
standalone DB instance (MySQL, MariaDB, PostgreSQL, Oracle, SQL Server) needs.

moto 5.2 makes a read replica as a shallow copy of its source (sharing its tag list, create time and
status, "available" at once, and silently replacing an instance of the same name), lets any instance
be "promoted" without it ever leaving its source, has no ``SwitchoverReadReplica``, stops and deletes
at once, and cannot delete a cross-region replica (it looks the replica up in its source's list by
identifier, where a cross-region one is listed by ARN). We replace those operations as response
methods of moto's ``RDSResponse`` (moto dispatches an Action to the snake_case method of that name),
so they serve in-process and in server mode, answering with botocore's shapes (a ``DBInstance``):

* ``CreateDBInstanceReadReplica``: a DB instance of its own, ``creating`` for a while, then
  ``available``; the source is an identifier in the same region or an ARN in any (a cross-region
  replica names its source by ARN, and the source lists it by ARN); refused as on AWS when the
  identifier is taken, the source is missing or not ``available``, or has no automated backups, and
  for a cross-region replica of an encrypted source without ``KmsKeyId`` (InvalidParameterCombination
  "Cannot create a cross region unencrypted read replica from encrypted source.") or with a key that
  is not an enabled key of the replica's region (KMSKeyNotAccessibleFault);
* ``PromoteReadReplica``: ``modifying`` for a while, then a standalone ``available`` instance that
  left its source; refused for an instance that is not a read replica or not ``available``;
* ``SwitchoverReadReplica`` (RDS for Oracle only, as on AWS: Data Guard): the replica and its source
  swap roles, both ``modifying`` meanwhile; refused for other engines, non-replicas, and when either
  side is not ``available`` or the replica has no automated backups;
* ``StopDBInstance`` (optionally with ``DBSnapshotIdentifier``): ``stopping`` then ``stopped``;
  refused, as AWS documents, for a read replica, an instance that has read replicas, a SQL Server
  Multi-AZ instance, and one that is not ``available``;
* ``DeleteDBInstance``: ``deleting`` for a while, then gone; needs ``FinalDBSnapshotIdentifier`` or
  ``SkipFinalSnapshot``; a deleted source's replicas become standalone, as on AWS (an Aurora cluster's
  instance is left to moto: gone at once).

A transition takes ``AWSSIM_DELAY_SECONDS`` (read at call time) and completes lazily: every RDS
request first settles the account's due transitions (``settle``), as ``awssim.rds_global`` does for
global clusters. A replica that becomes available publishes a ``ReplicaLag`` of 0 seconds
(``AWS/RDS``, dimension ``DBInstanceIdentifier``), as RDS does every minute for each replica.
DB instances are taggable and listed by the Tagging API / Resource Explorer as ``rds:db`` (moto's).
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.kms.models import kms_backends
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.rds.exceptions import (
    DBInstanceAlreadyExists,
    DBInstanceNotFoundError,
    DBSnapshotAlreadyExistsError,
    InvalidParameterCombination,
    RDSClientError,
)
from moto.rds.models import DBInstance, RDSBackend, rds_backends
from moto.rds.responses import RDSResponse

INSTANCE_ARN = re.compile(r"^arn:aws[\w-]*:rds:(?P<region>[\w-]+):(?P<account>\d{12}):db:(?P<id>.+)$")
ORACLE_REPLICA_ENGINES = ("oracle-ee", "oracle-ee-cdb")  # Oracle replicas (and so switchover): EE only


class InvalidDBInstanceState(RDSClientError):
    def __init__(self, message: str):
        super().__init__("InvalidDBInstanceState", message)


class KMSKeyNotAccessibleFault(RDSClientError):
    def __init__(self, message: str):
        super().__init__("KMSKeyNotAccessibleFault", message)


def _check_replica_key(source: DBInstance, region: str, key_id: str | None) -> None:
    """A cross-region replica of an encrypted source needs an enabled KMS key of its own region."""
    if source.region == region or not source.storage_encrypted:
        return
    if not key_id:
        raise InvalidParameterCombination("Cannot create a cross region unencrypted read replica from encrypted source.")
    kms = kms_backends[source.account_id][region]
    name = kms.get_alias_name(key_id)  # an alias (name or ARN), a key ARN or a key id, as RDS takes them
    found = kms.get_key_id_from_alias(name) if name.startswith("alias/") else kms.get_key_id(name)
    of_region = not key_id.startswith("arn:") or key_id.split(":")[3] == region
    key = kms.keys.get(found or "") if of_region else None
    if key is None or key.key_state != "Enabled":
        raise KMSKeyNotAccessibleFault(f"An error occurred accessing an Amazon Web Services KMS key: {key_id} is not an "
                                       f"enabled key in {region}.")


def _delay() -> float:
    return float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0"))


def _due(db: DBInstance, kind: str, status: str, **data: Any) -> None:
    """Put ``db`` into ``status`` until its transition ``kind`` completes (``settle``)."""
    db.status = status
    db.awssim_due = (time.time() + _delay(), kind, data)


# -- finding instances ---------------------------------------------------------------------------
def _backend(account_id: str, region: str) -> RDSBackend:
    return rds_backends[account_id][region]


def _instance(backend: RDSBackend, identifier: str) -> DBInstance:
    """An instance by identifier (this region) or ARN (any region of the account), like AWS."""
    match = INSTANCE_ARN.match(identifier or "")
    if match and match["account"] != backend.account_id:  # RDS reaches no DB instance of another account
        raise DBInstanceNotFoundError(identifier)
    if match:
        backend = _backend(match["account"], match["region"])
        identifier = match["id"]
    db = backend.databases.get((identifier or "").lower())
    if db is None or getattr(db, "db_cluster_identifier", None):
        raise DBInstanceNotFoundError(identifier)
    return db


def _source_of(replica: DBInstance) -> DBInstance | None:
    try:
        return _instance(replica.backend, replica.source_db_instance_identifier or "")
    except DBInstanceNotFoundError:
        return None


def _name_in(source: DBInstance, replica: DBInstance) -> str:
    """How ``source`` lists ``replica`` (and ``replica`` its source): by ARN across regions."""
    return replica.db_instance_identifier if replica.region == source.region else replica.db_instance_arn


def _attach(source: DBInstance, replica: DBInstance) -> None:
    replica.is_replica = True
    replica.source_db_instance_identifier = _name_in(replica, source)
    source.replicas.append(_name_in(source, replica))


def _detach(replica: DBInstance) -> None:
    source = _source_of(replica)
    if source is not None:
        source.replicas = [r for r in source.replicas if r not in (replica.db_instance_identifier,
                                                                     replica.db_instance_arn)]
    replica.is_replica = False
    replica.source_db_instance_identifier = None


def _publish_replica_lag(replica: DBInstance, seconds: float) -> None:
    cloudwatch_backends[replica.account_id][replica.region].put_metric_data("AWS/RDS", [{
        # moto keeps naive UTC timestamps (GetMetricStatistics compares with them)
        "MetricName": "ReplicaLag", "Value": seconds, "Unit": "Seconds", "Timestamp": utcnow(),
        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": replica.db_instance_identifier}],
    }])


# -- transitions -----------------------------------------------------------------------------------
def settle(account_id: str) -> None:
    """Complete every transition of the account's DB instances whose time has come."""
    now = time.time()
    for backend in list(rds_backends[account_id].values()):
        for db in list(backend.databases.values()):
            due = getattr(db, "awssim_due", None)
            if due and due[0] <= now:
                db.awssim_due = None
                _complete(backend, db, due[1], due[2])


def _complete(backend: RDSBackend, db: DBInstance, kind: str, data: dict[str, Any]) -> None:
    if kind == "created":
        db.status = "available"
        if db.is_replica:
            _publish_replica_lag(db, 0.0)
    elif kind == "promoted":
        _detach(db)
        db.backup_retention_period = data["backup_retention_period"]
        db.status = "available"
    elif kind == "switched-over":  # db: the new primary; data["old"]: its former source
        old = data["old"]
        _detach(db)
        for other in list(old.replicas):  # bystander replicas stay where they are; the pair swaps
            if other in (db.db_instance_identifier, db.db_instance_arn):
                old.replicas.remove(other)
        _attach(db, old)
        db.status = old.status = "available"
    elif kind == "stopped":
        db.status = "stopped"
    elif kind == "deleted":
        for name in list(db.replicas):  # AWS promotes the replicas of a deleted source
            try:
                replica = _instance(backend, name)
            except DBInstanceNotFoundError:
                continue
            replica.is_replica, replica.source_db_instance_identifier = False, None
        if db.is_replica:
            _detach(db)
        backend.databases.pop(db.db_instance_identifier, None)


def _require_available(db: DBInstance, action: str) -> None:
    if db.status != "available" or getattr(db, "awssim_due", None):
        raise InvalidDBInstanceState(f"DB instance {db.db_instance_identifier} is {db.status}; {action} needs it "
                                     "available.")


# -- response methods added to (or replacing those of) moto's RDSResponse ------------------------------
def create_db_instance_read_replica(self: RDSResponse) -> ActionResult:
    p = self.params
    identifier = p["DBInstanceIdentifier"].lower()
    self.backend._validate_db_identifier(identifier)
    if identifier in self.backend.databases:
        raise DBInstanceAlreadyExists()
    source = _instance(self.backend, p["SourceDBInstanceIdentifier"])
    if source.is_replica and source.region != self.backend.region_name:
        # A replica of a cross-region replica is not ours to model; AWS limits chains too.
        raise InvalidDBInstanceState(f"DB instance {source.db_instance_identifier} is a read replica.")
    _require_available(source, "CreateDBInstanceReadReplica")
    _check_replica_key(source, self.backend.region_name, p.get("KmsKeyId"))
    if not source.backup_retention_period:
        raise InvalidDBInstanceState(
            f"Automated backups are not enabled for this database instance ({source.db_instance_identifier}). "
            "To enable automated backups, use ModifyDBInstance to set the backup retention period to a non-zero value.")
    replica = DBInstance(
        self.backend, db_instance_identifier=identifier, engine=source.engine, engine_version=source.engine_version,
        db_instance_class=p.get("DBInstanceClass") or source.db_instance_class, port=source.port,
        allocated_storage=source.allocated_storage, storage_type=source.storage_type,
        master_username=source.master_username, license_model=source.license_model,
        storage_encrypted=source.storage_encrypted, kms_key_id=p.get("KmsKeyId") or source.kms_key_id,
        # A replica starts without automated backups (ModifyDBInstance turns them on), as on AWS.
        multi_az=bool(p.get("MultiAZ")), backup_retention_period=0, tags=p.get("Tags") or [],
    )
    replica.replica_mode = p.get("ReplicaMode") or ("open-read-only" if source.engine.startswith("oracle") else None)
    self.backend.databases[identifier] = replica
    _attach(source, replica)
    _due(replica, "created", "creating")
    return ActionResult({"DBInstance": replica})


def promote_read_replica(self: RDSResponse) -> ActionResult:
    db = _instance(self.backend, self.params["DBInstanceIdentifier"])
    if not db.is_replica:
        raise InvalidDBInstanceState(f"DB instance {db.db_instance_identifier} is not a read replica.")
    _require_available(db, "PromoteReadReplica")
    # AWS's default for the promoted instance: backups on, one day, unless the call says otherwise.
    retention = self.params.get("BackupRetentionPeriod")
    _due(db, "promoted", "modifying", backup_retention_period=int(retention) if retention is not None else 1)
    return ActionResult({"DBInstance": db})


def switchover_read_replica(self: RDSResponse) -> ActionResult:
    db = _instance(self.backend, self.params["DBInstanceIdentifier"])
    if not db.is_replica:
        raise InvalidDBInstanceState(f"DB instance {db.db_instance_identifier} is not a read replica.")
    if db.engine not in ORACLE_REPLICA_ENGINES:
        raise InvalidDBInstanceState(f"SwitchoverReadReplica is supported for RDS for Oracle replicas only, not "
                                     f"{db.engine}.")
    old = _source_of(db)
    if old is None:
        raise InvalidDBInstanceState(f"The source of {db.db_instance_identifier} is not available.")
    _require_available(db, "SwitchoverReadReplica")
    _require_available(old, "SwitchoverReadReplica")
    if not db.backup_retention_period:
        raise InvalidDBInstanceState(f"Automated backups must be enabled on {db.db_instance_identifier} before a "
                                     "switchover.")
    _due(db, "switched-over", "modifying", old=old)
    old.status = "modifying"
    return ActionResult({"DBInstance": db})


def stop_db_instance(self: RDSResponse) -> ActionResult:
    db = _instance(self.backend, self.params["DBInstanceIdentifier"])
    if db.is_replica:
        raise InvalidDBInstanceState(f"DB instance {db.db_instance_identifier} is a read replica: it can't be "
                                     "stopped.")
    if db.replicas:
        raise InvalidDBInstanceState(f"DB instance {db.db_instance_identifier} has read replicas: it can't be "
                                     "stopped.")
    if db.multi_az and db.engine.startswith("sqlserver"):
        raise InvalidDBInstanceState("A SQL Server DB instance in a Multi-AZ deployment can't be stopped.")
    _require_available(db, "StopDBInstance")
    snapshot = self.params.get("DBSnapshotIdentifier")
    if snapshot:
        self.backend.validate_db_snapshot_identifier(snapshot, parameter_name="DBSnapshotIdentifier")
        if snapshot in self.backend.database_snapshots:
            raise DBSnapshotAlreadyExistsError(snapshot)
        self.backend.create_db_snapshot(db.db_instance_identifier, snapshot)
    _due(db, "stopped", "stopping")
    return ActionResult({"DBInstance": db})


def delete_db_instance(self: RDSResponse) -> ActionResult:
    found = self.backend.databases.get((self.params.get("DBInstanceIdentifier") or "").lower())
    if found is not None and getattr(found, "db_cluster_identifier", None):
        return _moto_delete_db_instance(self)  # an Aurora cluster's instance: moto's own, gone at once
    db = _instance(self.backend, self.params["DBInstanceIdentifier"])
    if db.status == "deleting":
        raise InvalidDBInstanceState(f"DB instance {db.db_instance_identifier} is already being deleted.")
    if db.deletion_protection:
        raise InvalidParameterCombination("Cannot delete protected DB Instance, please disable deletion protection "
                                          "and try again.")
    final = self.params.get("FinalDBSnapshotIdentifier")
    skip = str(self.params.get("SkipFinalSnapshot", "")).lower() == "true"
    if final and skip:
        raise InvalidParameterCombination("FinalDBSnapshotIdentifier can not be specified when deleting an instance "
                                          "with SkipFinalSnapshot set to true.")
    if not final and not skip and not db.is_replica:
        raise InvalidParameterCombination("FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is "
                                          "specified.")
    if final:
        self.backend.validate_db_snapshot_identifier(final, parameter_name="FinalDBSnapshotIdentifier")
        if final in self.backend.database_snapshots:
            raise DBSnapshotAlreadyExistsError(final)
        self.backend.create_db_snapshot(db.db_instance_identifier, final)
    _due(db, "deleted", "deleting")
    return ActionResult({"DBInstance": db})


_previous_call_action = None
_moto_delete_db_instance = None


def call_action(self: RDSResponse) -> Any:
    settle(self.current_account)
    return _previous_call_action(self)  # type: ignore[misc]


def register() -> None:
    """Add the operations to moto's RDS (idempotent; after ``rds_global.register``, whose settle it chains)."""
    global _previous_call_action, _moto_delete_db_instance
    if getattr(RDSResponse.call_action, "__name__", "") == "call_action" and \
            getattr(RDSResponse.call_action, "__module__", "") == __name__:
        return
    DBInstance.awssim_due = None  # (epoch seconds when due, kind, data): class default, so every instance has it
    DBInstance.replica_mode = None  # serialized as ReplicaMode (Oracle replicas)
    _previous_call_action = RDSResponse.call_action
    _moto_delete_db_instance = RDSResponse.delete_db_instance
    for fn in (create_db_instance_read_replica, promote_read_replica, switchover_read_replica, stop_db_instance,
               delete_db_instance, call_action):
        setattr(RDSResponse, fn.__name__, fn)
