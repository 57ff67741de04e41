"""DRS endpoints (rest-json: one POST path per operation, plus /tags/{resourceArn})."""

from .responses import DrsResponse

url_bases = [r"https?://drs\.(.+)\.amazonaws\.com"]

_OPERATIONS = (
    "DescribeSourceServers",
    "StartRecovery",
    "DescribeJobs",
    "DescribeJobLogItems",
    "DescribeRecoveryInstances",
    "TerminateRecoveryInstances",
    "ReverseReplication",
    "StartReplication",
    "StopReplication",
    "GetLaunchConfiguration",
    "UpdateLaunchConfiguration",
)

url_paths = {f"{{0}}/{op}$": DrsResponse.dispatch for op in _OPERATIONS}
url_paths["{0}/tags/(?P<resourceArn>.+)$"] = DrsResponse.dispatch
