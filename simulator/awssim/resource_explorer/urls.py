"""Resource Explorer endpoints: rest-json, one POST path per operation. botocore's endpoint rules
name ``resource-explorer-2[-fips].<region>.<dnsSuffix>`` (``amazonaws.com``; ``api.aws`` dual-stack)."""

from .responses import ResourceExplorerResponse

url_bases = [r"https?://resource-explorer-2(?:-fips)?\.(.+)\.(?:amazonaws\.com|api\.aws)"]

OPERATIONS = (
    "CreateIndex", "GetIndex", "ListIndexes", "UpdateIndexType", "DeleteIndex",
    "CreateView", "GetView", "BatchGetView", "UpdateView", "ListViews", "DeleteView",
    "AssociateDefaultView", "GetDefaultView", "DisassociateDefaultView",
    "Search", "ListResources",
)

url_paths = {f"{{0}}/{op}$": ResourceExplorerResponse.dispatch for op in OPERATIONS}
