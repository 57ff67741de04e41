"""Resource Explorer request handlers. moto parses requests and serializes replies with botocore's
``resource-explorer-2`` model (``automated_parameter_parsing`` + ``ActionResult``), so the wire shapes
(rest-json, one POST path per operation) and error codes are the real API's."""

from __future__ import annotations

from moto.core.responses import ActionResult, BaseResponse, EmptyResult

from .models import ResourceExplorerBackend, resourceexplorer2_backends


class ResourceExplorerResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="resource-explorer-2")
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> ResourceExplorerBackend:
        return resourceexplorer2_backends[self.current_account][self.region]

    def create_index(self) -> ActionResult:
        return ActionResult(self.backend.create_index(self._get_param("ClientToken"), self._get_param("Tags")))

    def get_index(self) -> ActionResult:
        return ActionResult(self.backend.get_index())

    def list_indexes(self) -> ActionResult:
        return ActionResult(self.backend.list_indexes(
            self._get_param("Type"), self._get_param("Regions"), self._get_param("MaxResults"),
            self._get_param("NextToken")))

    def update_index_type(self) -> ActionResult:
        return ActionResult(self.backend.update_index_type(self._get_param("Arn"), self._get_param("Type")))

    def delete_index(self) -> ActionResult:
        return ActionResult(self.backend.delete_index(self._get_param("Arn")))

    def create_view(self) -> ActionResult:
        view = self.backend.create_view(
            self._get_param("ViewName"), self._get_param("IncludedProperties"), self._get_param("Scope"),
            self._get_param("Filters"), self._get_param("Tags"), self._get_param("ClientToken"))
        return ActionResult({"View": view})

    def get_view(self) -> ActionResult:
        return ActionResult(self.backend.get_view(self._get_param("ViewArn")))

    def batch_get_view(self) -> ActionResult:
        return ActionResult(self.backend.batch_get_view(self._get_param("ViewArns") or []))

    def update_view(self) -> ActionResult:
        view = self.backend.update_view(
            self._get_param("ViewArn"), self._get_param("IncludedProperties"), self._get_param("Filters"))
        return ActionResult({"View": view})

    def list_views(self) -> ActionResult:
        return ActionResult(self.backend.list_views(self._get_param("MaxResults"), self._get_param("NextToken")))

    def delete_view(self) -> ActionResult:
        return ActionResult({"ViewArn": self.backend.delete_view(self._get_param("ViewArn"))})

    def associate_default_view(self) -> ActionResult:
        return ActionResult({"ViewArn": self.backend.associate_default_view(self._get_param("ViewArn"))})

    def get_default_view(self) -> ActionResult:
        arn = self.backend.get_default_view()
        return ActionResult({"ViewArn": arn} if arn else {})

    def disassociate_default_view(self) -> ActionResult:
        self.backend.disassociate_default_view()
        return EmptyResult()

    def search(self) -> ActionResult:
        return ActionResult(self.backend.search(
            self._get_param("QueryString") or "", self._get_param("MaxResults"), self._get_param("ViewArn"),
            self._get_param("NextToken")))

    def list_resources(self) -> ActionResult:
        return ActionResult(self.backend.list_resources(
            self._get_param("Filters"), self._get_param("MaxResults"), self._get_param("ViewArn"),
            self._get_param("NextToken")))
