"""awssim.service_quotas: Service Quotas for what a DR run consumes, per account and region, in botocore's shapes,
in-process and as a server; and the limits behind them refused where AWS refuses them."""

from __future__ import annotations

import boto3
import pytest
import requests
from awssim import service_quotas
from awssim.kits.drs import seed_drs_servers
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

HUB, SPOKE = "123456789012", "222222222222"
PRIMARY, DR = "us-east-1", "us-west-2"
STANDARD = "L-1216C47A"


def valid(client, operation, response):
    shape = client.meta.service_model.operation_model(operation).output_shape
    report = ParamValidator().validate({k: v for k, v in response.items() if k != "ResponseMetadata"}, shape)
    assert not report.has_errors(), report.generate_report()
    return response


def quotas(session, region):
    return session.client("service-quotas", region_name=region)


def error_code(call, **kwargs):
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    return refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]


def test_an_applied_value_per_account_and_region_and_the_aws_default_behind_it(aws):
    sq = quotas(aws, DR)
    applied = valid(sq, "GetServiceQuota", sq.get_service_quota(ServiceCode="ec2", QuotaCode=STANDARD))["Quota"]
    default = valid(sq, "GetAWSDefaultServiceQuota",
                    sq.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=STANDARD))["Quota"]
    assert applied["QuotaName"] == default["QuotaName"] == \
        "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"
    # every account has an applied value of EC2's On-Demand families; AWS's default for a new account is 5 vCPUs
    assert applied["Value"] == service_quotas.ESTABLISHED[("ec2", STANDARD)] and default["Value"] == 5.0
    assert applied["QuotaArn"] == f"arn:aws:servicequotas:{DR}:{HUB}:ec2/{STANDARD}"

    service_quotas.set_quota(HUB, DR, "ec2", STANDARD, 8)
    assert sq.get_service_quota(ServiceCode="ec2", QuotaCode=STANDARD)["Quota"]["Value"] == 8.0
    # the same account's other region, and the default, are untouched
    assert quotas(aws, PRIMARY).get_service_quota(ServiceCode="ec2", QuotaCode=STANDARD)["Quota"]["Value"] == 2048.0
    assert sq.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=STANDARD)["Quota"]["Value"] == 5.0
    service_quotas.set_quota(HUB, DR, "ec2", STANDARD, None)
    assert sq.get_service_quota(ServiceCode="ec2", QuotaCode=STANDARD)["Quota"]["Value"] == 2048.0


def test_no_applied_value_or_an_unknown_code_is_no_such_resource(aws):
    sq = quotas(aws, DR)
    code, message = error_code(sq.get_service_quota, ServiceCode="rds", QuotaCode="L-7B6409FD")
    assert code == "NoSuchResourceException" and "No applied quota value" in message
    assert sq.get_aws_default_service_quota(ServiceCode="rds", QuotaCode="L-7B6409FD")["Quota"]["Value"] == 40.0
    for call in (sq.get_service_quota, sq.get_aws_default_service_quota):
        assert error_code(call, ServiceCode="ec2", QuotaCode="L-00000000")[0] == "NoSuchResourceException"
        assert error_code(call, ServiceCode="nosuchservice", QuotaCode=STANDARD)[0] == "NoSuchResourceException"
    # moto's own VPC quotas still answer
    assert sq.get_service_quota(ServiceCode="vpc", QuotaCode="L-F678F1CE")["Quota"]["Value"] == 5.0
    with pytest.raises(ValueError, match="unknown quota ec2/L-00000000"):
        service_quotas.set_quota(HUB, DR, "ec2", "L-00000000", 1)


def test_run_instances_past_the_family_quota_is_refused_counting_what_runs(aws):
    service_quotas.set_quota(HUB, DR, "ec2", STANDARD, 6)
    ec2 = aws.client("ec2", region_name=DR)
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2, InstanceType="t3.medium")  # 4 of 6 vCPUs
    code, message = error_code(ec2.run_instances, ImageId="ami-12c6146b", MinCount=1, MaxCount=1,
                               InstanceType="m5.xlarge")  # 4 more
    assert code == "VcpuLimitExceeded" and "current vCPU limit of 6" in message
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.small")  # 2: exactly 6
    # another family counts against its own quota (G and VT: 64 here), and a stopped instance frees its vCPUs
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="g4dn.xlarge")
    running = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
               if i["InstanceType"] == "t3.medium"]
    ec2.stop_instances(InstanceIds=running[:1])
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro")


def test_a_drs_launch_past_the_vcpu_quota_fails_naming_the_limit(aws, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0")
    (server,) = seed_drs_servers(HUB, PRIMARY, DR, ["web-1"], {"Customer": "acme", "Environment": "production"})
    service_quotas.set_quota(HUB, DR, "ec2", STANDARD, 1)  # t3.medium: 2 vCPUs
    drs = aws.client("drs", region_name=DR)
    job = drs.start_recovery(sourceServers=[{"sourceServerID": server}], isDrill=True)["job"]["jobID"]
    (done,) = drs.describe_jobs(filters={"jobIDs": [job]})["items"]
    assert done["status"] == "COMPLETED" and done["participatingServers"][0]["launchStatus"] == "FAILED"
    log = drs.describe_job_log_items(jobID=job)["items"]
    assert any(i["event"] == "LAUNCH_FAILED" and "VcpuLimitExceeded" in i["eventData"]["rawError"] for i in log)
    assert drs.describe_recovery_instances(filters={})["items"] == []


def test_lambda_reservations_stop_at_the_concurrency_quota_and_account_settings_say_so(aws):
    from awssim.kits.lambda_function import seed_function

    seed_function(aws, DR, name="orders")
    seed_function(aws, DR, name="billing")
    lam = aws.client("lambda", region_name=DR)
    service_quotas.set_quota(HUB, DR, "lambda", "L-B99A9384", 300)
    lam.put_function_concurrency(FunctionName="orders", ReservedConcurrentExecutions=150)
    settings = valid(lam, "GetAccountSettings", lam.get_account_settings())["AccountLimit"]
    assert (settings["ConcurrentExecutions"], settings["UnreservedConcurrentExecutions"]) == (300, 150)
    code, message = error_code(lam.put_function_concurrency, FunctionName="billing", ReservedConcurrentExecutions=51)
    assert code == "InvalidParameterValueException" and "below its minimum value of [100]" in message
    lam.put_function_concurrency(FunctionName="billing", ReservedConcurrentExecutions=50)


def test_server_mode_answers_the_same_and_takes_applied_values_over_http(server_url):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=DR)
    sq = session.client("service-quotas", endpoint_url=server_url)
    assert sq.get_service_quota(ServiceCode="ec2", QuotaCode=STANDARD)["Quota"]["Value"] == 2048.0
    body = {"account_id": HUB, "region": DR, "service_code": "ec2", "quota_code": STANDARD, "value": 12}
    reply = requests.post(f"{server_url}{service_quotas.CONTROL_PATH}", json=body, timeout=10)
    assert reply.status_code == 200 and reply.json()["applied"] == 12.0
    assert sq.get_service_quota(ServiceCode="ec2", QuotaCode=STANDARD)["Quota"]["Value"] == 12.0
    assert valid(sq, "GetAWSDefaultServiceQuota", sq.get_aws_default_service_quota(
        ServiceCode="lambda", QuotaCode="L-B99A9384"))["Quota"]["Value"] == 1000.0
    assert error_code(sq.get_service_quota, ServiceCode="lambda", QuotaCode="L-B99A9384")[0] == "NoSuchResourceException"
    bad = requests.post(f"{server_url}{service_quotas.CONTROL_PATH}", json={**body, "quota_code": "L-X"}, timeout=10)
    assert bad.status_code == 400 and "unknown quota ec2/L-X" in bad.json()["error"]
    lam = session.client("lambda", endpoint_url=server_url)
    assert lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 1000
