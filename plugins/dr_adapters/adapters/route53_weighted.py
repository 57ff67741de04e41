"""Amazon Route 53 weighted records (``R53WeightedRecord``): move the weights of a weighted group.

The group is every weighted record set of one name and type, named by SetIdentifier. A failover
UPSERTs the sets whose weight differs from ``drWeights`` -- each set as stored, only its Weight
changed -- in one ChangeResourceRecordSets batch, which AWS applies atomically (never a moment
with both sides at 0 or both at 100); failback applies ``primaryWeights``. A set of the group the
manifest does not name is refused: it would keep its share of traffic whatever the run does.

``validate`` confirms the answer (``TestDNSAnswer``) is one of the answers of the sets the target
weights give traffic. AWS picks among weighted sets at random in proportion to their weights, so
with weights such as 70/30 an answer from either side is possible; with 0/100 (the usual DR
split) only the side at 100 answers.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from dr_adapters.adapters.base import RunContext
from dr_adapters.adapters.route53 import (
    BASE_IAM,
    CHANGE_IAM,
    RecordAdapter,
    RecordConfig,
    ZoneRecord,
    answers,
    record_sets,
)
from dr_adapters.plan.types import Phase


class R53WeightedRecordConfig(RecordConfig):
    primary_weights: dict[str, int] = Field(alias="primaryWeights", description=(
        "Weight (0-255) of each weighted record of the name and type, by SetIdentifier, while primary serves, "
        "e.g. {use1: 100, usw2: 0}."))
    dr_weights: dict[str, int] = Field(alias="drWeights", description=(
        "Weight of each of the same records while DR serves, e.g. {use1: 0, usw2: 100}."))

    @model_validator(mode="after")
    def _same_records(self) -> R53WeightedRecordConfig:
        if set(self.primary_weights) != set(self.dr_weights):
            raise ValueError("primaryWeights and drWeights must name the same SetIdentifiers")
        for side, weights in (("primaryWeights", self.primary_weights), ("drWeights", self.dr_weights)):
            if any(not 0 <= w <= 255 for w in weights.values()):
                raise ValueError(f"{side}: a weight is 0 to 255")
            if not any(weights.values()):
                raise ValueError(f"{side}: at least one record needs a weight above 0")
        if self.primary_weights == self.dr_weights:
            raise ValueError("primaryWeights and drWeights are the same: a failover would move nothing")
        return self


class WeightedGroup(ZoneRecord):
    cfg: R53WeightedRecordConfig
    fix = "name every weighted record of the name and type in primaryWeights/drWeights, by SetIdentifier"

    def sides(self, ctx: RunContext) -> tuple[dict[str, int], dict[str, int]]:
        return ctx.source_and_target(self.cfg.primary_weights, self.cfg.dr_weights)

    def read(self) -> None:
        self.group = {s["SetIdentifier"]: s for s in self.sets if s.get("Weight") is not None}

    def problems(self) -> list[str]:
        if not self.sets:
            return [f"weighted record {self.label} not found"]
        if len(self.group) != len(self.sets):
            return [f"record {self.label} is not a weighted record set"]
        missing = sorted(set(self.target) - set(self.group))
        if missing:
            return [f"weighted record(s) {missing} of {self.label} not found"]
        unnamed = sorted(set(self.group) - set(self.target))
        if unnamed:
            return [f"weighted record(s) {unnamed} of {self.label} are not in primaryWeights/drWeights: they "
                    "would keep their share of traffic"]
        # ACTIVATE UPSERTs the records it moves as they are, health check included: one deleted since is refused
        return [f"health check {check} of weighted record {set_id!r} of {self.label} does not exist: Route 53 "
                "refuses the weight change (NoSuchHealthCheck) -- attach an existing health check to the record, "
                "or remove it from the record"
                for set_id, s in sorted(self.group.items()) if int(s["Weight"]) != self.target[set_id]
                and (check := s.get("HealthCheckId")) and self.health_check(check) is None]

    @property
    def weights(self) -> dict[str, int]:
        return {set_id: int(s["Weight"]) for set_id, s in sorted(self.group.items())}

    def is_at(self, side: dict[str, int]) -> bool:
        return bool(self.group) and all(set_id in self.group and int(self.group[set_id]["Weight"]) == weight
                                        for set_id, weight in side.items())

    def now(self) -> str:
        return f"weighs {self.weights}"

    def wanted(self, side: dict[str, int]) -> str:
        return f"weigh {dict(sorted(side.items()))}"

    def expected(self, side: dict[str, int]) -> set[str] | None:
        wanted: set[str] = set()
        for set_id, weight in side.items():
            record = self.group[set_id]
            alias = record.get("AliasTarget")
            if weight == 0:
                continue
            if not alias:
                wanted |= answers([r["Value"] for r in record.get("ResourceRecords", [])])
            elif alias["HostedZoneId"].split("/")[-1] == self.zone_id and record_sets(
                    self.r53, self.zone_id, alias["DNSName"], self.cfg.record_type):
                wanted |= self.dns_answer(alias["DNSName"])[1]
            else:
                return None  # an alias to an AWS resource answers its current addresses
        return wanted

    def change_batch(self) -> dict[str, Any]:
        moved = [{**self.group[set_id], "Weight": weight} for set_id, weight in sorted(self.target.items())
                 if int(self.group[set_id]["Weight"]) != weight]
        return self.upsert(moved, f"DR: weigh {self.cfg.record_name} {dict(sorted(self.target.items()))}")


class Route53WeightedRecordAdapter(RecordAdapter):
    actions = ("R53WeightedRecord",)
    record_class = WeightedGroup
    config_model = R53WeightedRecordConfig
    unplanned_behaviour = (
        "as planned, through Route 53's control plane in us-east-1; when us-east-1 is the region being left "
        "no weight change can be relied on and preflight says so at once (use R53FailoverRecord, or ARC "
        "routing controls; a weighted set whose health check fails with its region stops answering by itself)"
    )
    drill_behaviour = "read-only: checks every weighted record is named and that Route 53 answers the primary side"
    phase_summaries = {
        Phase.INSTANTIATE: "no-op",
        Phase.ACTIVATE: "UPSERT the weighted records to drWeights in one atomic change batch, wait until INSYNC",
        Phase.CLEANUP: "no-op",
        Phase.REPLICATE: "no-op",
    }
    iam_actions = BASE_IAM + CHANGE_IAM + ("route53:GetHealthCheck",)  # GetHealthCheck: the moved records' checks
