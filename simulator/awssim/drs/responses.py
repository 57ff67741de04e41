"""DRS request handlers. moto parses requests and serializes replies with botocore's DRS model
(``automated_parameter_parsing`` + ``ActionResult``), so the wire shapes are the real API's."""

from __future__ import annotations

from moto.core.responses import ActionResult, BaseResponse, EmptyResult

from .models import DrsBackend, drs_backends, paginate


class DrsResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="drs")
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> DrsBackend:
        return drs_backends[self.current_account][self.region]

    def _page(self, items: list) -> ActionResult:
        page, token = paginate(items, self._get_param("maxResults"), self._get_param("nextToken"))
        return ActionResult({"items": page, "nextToken": token})

    def describe_source_servers(self) -> ActionResult:
        filters = self._get_param("filters") or {}
        return self._page(self.backend.describe_source_servers(filters.get("sourceServerIDs")))

    def start_recovery(self) -> ActionResult:
        job = self.backend.start_recovery(
            self._get_param("sourceServers") or [], bool(self._get_param("isDrill")), self._get_param("tags")
        )
        return ActionResult({"job": job})

    def describe_jobs(self) -> ActionResult:
        filters = self._get_param("filters") or {}
        return self._page(
            self.backend.describe_jobs(filters.get("jobIDs"), filters.get("fromDate"), filters.get("toDate"))
        )

    def describe_job_log_items(self) -> ActionResult:
        return self._page(self.backend.describe_job_log_items(self._get_param("jobID")))

    def describe_recovery_instances(self) -> ActionResult:
        filters = self._get_param("filters") or {}
        ids, server_ids = filters.get("recoveryInstanceIDs"), filters.get("sourceServerIDs")
        return self._page(self.backend.describe_recovery_instances(ids, server_ids))

    def terminate_recovery_instances(self) -> ActionResult:
        ids = self._get_param("recoveryInstanceIDs") or []
        return ActionResult({"job": self.backend.terminate_recovery_instances(ids)})

    def reverse_replication(self) -> ActionResult:
        arn = self.backend.reverse_replication(self._get_param("recoveryInstanceID"))
        return ActionResult({"reversedDirectionSourceServerArn": arn})

    def start_replication(self) -> ActionResult:
        return ActionResult({"sourceServer": self.backend.start_replication(self._get_param("sourceServerID"))})

    def stop_replication(self) -> ActionResult:
        return ActionResult({"sourceServer": self.backend.stop_replication(self._get_param("sourceServerID"))})

    def get_launch_configuration(self) -> ActionResult:
        return ActionResult(self.backend.get_launch_configuration(self._get_param("sourceServerID")))

    def update_launch_configuration(self) -> ActionResult:
        fields = (
            "name", "launchDisposition", "targetInstanceTypeRightSizingMethod", "copyPrivateIp", "copyTags",
            "licensing", "postLaunchEnabled", "launchIntoInstanceProperties", "recoveryMode",
        )
        changes = {f: self._get_param(f) for f in fields}
        return ActionResult(self.backend.update_launch_configuration(self._get_param("sourceServerID"), changes))

    def tag_resource(self) -> ActionResult:
        self.backend.tag_resource(self._get_param("resourceArn"), self._get_param("tags") or {})
        return EmptyResult()

    def untag_resource(self) -> ActionResult:
        self.backend.untag_resource(self._get_param("resourceArn"), self._get_param("tagKeys") or [])
        return EmptyResult()

    def list_tags_for_resource(self) -> ActionResult:
        return ActionResult({"tags": self.backend.list_tags_for_resource(self._get_param("resourceArn"))})
