"""A deploy rehearsal without an AWS account (issue 22 item 7, docs/deploy.md "Rehearsal").

Translates the SAM template to plain CloudFormation with the SAM translator (aws-sam-translator,
pinned in requirements-dev.lock: the library `sam deploy` runs, here without the CLI), creates the
stack on the local AWS endpoint (moto's CloudFormation), and prints, as one JSON object on stdout,
what was created as the AWS APIs describe it: the table with its index and TTL, the queues with
their DLQs and redrive counts, the functions and their event source mappings, the scheduler group,
the roles and their policies, and the template's resource types moto did not create. The Rust test
`infra/template-check/tests/rehearsal.rs` holds that to shared/aws/src/resources.rs; this script
decides nothing.

    .venv/bin/python scripts/rehearse_deploy.py --template infra/template.yaml --stack NAME \
        [--secrets-prefix P] [--endpoint URL [--keep]]

The stack is made on a moto server of the rehearsal's own, started here on a free loopback port
and stopped at the end (`--endpoint URL` uses a running one and deletes the stack afterwards unless
--keep). Not the local stack's: moto keeps every object it ever made for its /moto-api/data.json
dump, and a Lambda function there makes that dump fail (it asks Docker about each), which the
tests that read sent mail from the dump would then trip over. Function code is a placeholder zip:
`sam build` is not rehearsed (docs/deploy.md).

Built to: the translator's public entry point `samtranslator.translator.transform.transform(
template, parameter_values, managed_policy_loader)` and its `yaml_parse`, as the project's own
bin/sam-translate.py uses them ("cannot transform CodeUri pointing at local directory"),
https://github.com/aws/serverless-application-model; moto's CloudFormation (create_stack,
list_stack_resources, delete_stack: docs/docs/services/cloudformation.rst of
https://github.com/getmoto/moto), whose supported resource types are its model map
(moto.cloudformation.parsing.get_model_map), read at run time rather than listed here.
"""

import argparse
import ast
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
import zipfile

import boto3

try:
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse
except ImportError:
    raise SystemExit(
        f"{sys.executable} has no aws-sam-translator: run `make venv` (requirements-dev.lock pins it)"
    )

REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"
ARTIFACTS = "otklik-rehearsal-artifacts"


class NoManagedPolicies:
    """The template names no AWS managed policy (each role is its own), so the translator's
    loader, which would list the account's policies, is never needed."""

    def load(self):
        return {}


ENDPOINT = None


def client(service):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=ENDPOINT,
        aws_access_key_id="rehearsal",
        aws_secret_access_key="rehearsal",
    )


def own_moto_server():
    """A moto server on a free loopback port, from this interpreter's moto; (process, URL)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"moto server exited with {proc.returncode} before answering")
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"moto server did not answer on {url} within 30 s")


def translate(template_path, parameters):
    """The SAM template as plain CloudFormation. Local code paths become S3 locations first, as
    `sam package` makes them (the translator accepts only S3 URIs)."""
    with open(template_path, encoding="utf-8") as f:
        sam = yaml_parse(f.read())
    for logical_id, res in sam["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = f"s3://{ARTIFACTS}/{logical_id}.zip"
        elif res["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://{ARTIFACTS}/{logical_id}.zip"
    try:
        return transform(sam, parameters, NoManagedPolicies())
    except InvalidDocumentException as e:
        causes = "; ".join(str(c) for c in e.causes)
        raise SystemExit(f"the SAM translator refused the template: {causes}")


def moto_types():
    """The resource types moto's CloudFormation creates (the rest it skips with a warning)."""
    from moto.cloudformation.parsing import get_model_map

    return set(get_model_map())


def refers_to(value, logical_ids):
    """Does this piece of template name one of `logical_ids` (Ref, GetAtt or inside a Sub)?"""
    if isinstance(value, dict):
        if value.get("Ref") in logical_ids:
            return True
        att = value.get("Fn::GetAtt")
        if isinstance(att, list) and att and att[0] in logical_ids:
            return True
        sub = value.get("Fn::Sub")
        text = sub if isinstance(sub, str) else (sub[0] if isinstance(sub, list) else "")
        if any("${" + i + "}" in text or "${" + i + "." in text for i in logical_ids):
            return True
        return any(refers_to(v, logical_ids) for v in value.values())
    if isinstance(value, list):
        return any(refers_to(v, logical_ids) for v in value)
    return False


def without_unsupported_outputs(cfn, supported):
    """moto refuses a stack whose outputs read an attribute of a resource it does not create (the
    HTTP API's endpoint): those outputs are left out, and said so in the inventory."""
    skipped = {i for i, r in cfn["Resources"].items() if r["Type"] not in supported}
    dropped = [k for k, v in cfn.get("Outputs", {}).items() if refers_to(v, skipped)]
    for k in dropped:
        del cfn["Outputs"][k]
    return dropped


def upload_placeholders(cfn):
    """One placeholder zip per function and layer: moto stores the code, it never runs it here."""
    s3 = client("s3")
    try:
        s3.create_bucket(
            Bucket=ARTIFACTS, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\nexit 1\n")
    for res in cfn["Resources"].values():
        code = res.get("Properties", {}).get("Code") or res.get("Properties", {}).get("Content")
        if isinstance(code, dict) and "S3Key" in code:
            s3.put_object(Bucket=ARTIFACTS, Key=code["S3Key"], Body=buf.getvalue())


def create_stack(stack, cfn, parameters):
    cf = client("cloudformation")
    with warnings.catch_warnings(record=True):
        cf.create_stack(
            StackName=stack,
            TemplateBody=json.dumps(cfn),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
    waiter = cf.get_waiter("stack_create_complete")
    waiter.wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    desc = cf.describe_stacks(StackName=stack)["Stacks"][0]
    return desc["StackStatus"], cf.list_stack_resources(StackName=stack)["StackResourceSummaries"]


def name_of_queue_arn(arn):
    return arn.rsplit(":", 1)[-1]


def inventory(stack, cfn, created):
    """What the stack made, read back through the services' own APIs."""
    out = {"stack": stack}
    types = {}
    for logical_id, res in cfn["Resources"].items():
        types.setdefault(res["Type"], []).append(logical_id)
    made = {r["LogicalResourceId"] for r in created}
    out["types"] = {
        t: {"declared": len(ids), "created": len([i for i in ids if i in made])}
        for t, ids in sorted(types.items())
    }

    ddb = client("dynamodb")
    tables = {}
    for name in ddb.list_tables()["TableNames"]:
        if not name.startswith(stack + "-"):
            continue
        t = ddb.describe_table(TableName=name)["Table"]
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        tables[name] = {
            "keys": [[k["AttributeName"], k["KeyType"]] for k in t["KeySchema"]],
            "indexes": {
                i["IndexName"]: [[k["AttributeName"], k["KeyType"]] for k in i["KeySchema"]]
                for i in t.get("GlobalSecondaryIndexes", [])
            },
            "ttl": {
                "attribute": ttl.get("AttributeName"),
                "status": ttl.get("TimeToLiveStatus"),
            },
            "billing": t.get("BillingModeSummary", {}).get("BillingMode"),
        }
    out["tables"] = tables

    sqs = client("sqs")
    queues = {}
    for url in sqs.list_queues(QueueNamePrefix=stack + "-").get("QueueUrls", []):
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attrs["RedrivePolicy"]) if "RedrivePolicy" in attrs else None
        queues[name_of_queue_arn(attrs["QueueArn"])] = {
            "url": url,
            "arn": attrs["QueueArn"],
            "visibility_timeout": int(attrs["VisibilityTimeout"]),
            "retention": int(attrs["MessageRetentionPeriod"]),
            "dlq": name_of_queue_arn(redrive["deadLetterTargetArn"]) if redrive else None,
            "max_receive_count": int(redrive["maxReceiveCount"]) if redrive else None,
        }
    out["queues"] = queues

    lam = client("lambda")
    functions = {}
    for f in lam.list_functions()["Functions"]:
        name = f["FunctionName"]
        if not name.startswith(stack + "-"):
            continue
        conc = lam.get_function_concurrency(FunctionName=name).get(
            "ReservedConcurrentExecutions"
        )
        functions[name] = {
            "role": f["Role"].rsplit("/", 1)[-1],
            "timeout": f["Timeout"],
            "memory": f["MemorySize"],
            "architectures": f.get("Architectures", []),
            "reserved_concurrency": conc,
            "env": f.get("Environment", {}).get("Variables", {}),
        }
    out["functions"] = functions
    mappings = []
    for m in lam.list_event_source_mappings()["EventSourceMappings"]:
        fn = m["FunctionArn"].rsplit(":", 1)[-1]
        if fn not in functions:
            continue
        mappings.append(
            {
                "queue": name_of_queue_arn(m["EventSourceArn"]),
                "function": fn,
                "batch_size": m.get("BatchSize"),
                "batching_window": m.get("MaximumBatchingWindowInSeconds", 0),
                "max_concurrency": m.get("ScalingConfig", {}).get("MaximumConcurrency"),
                "response_types": m.get("FunctionResponseTypes", []),
            }
        )
    out["event_source_mappings"] = mappings

    sched = client("scheduler")
    out["schedule_groups"] = [
        g["Name"]
        for g in sched.list_schedule_groups()["ScheduleGroups"]
        if g["Name"].startswith(stack + "-")
    ]

    iam = client("iam")
    roles = {}
    role_names = {f["role"] for f in functions.values()}
    for r in iam.list_roles()["Roles"]:
        if r["RoleName"] not in role_names and not r["RoleName"].startswith(stack + "-"):
            continue
        statements = []
        for p in iam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=r["RoleName"], PolicyName=p)["PolicyDocument"]
            if isinstance(doc, str):
                # moto 5.2 keeps a policy made by CloudFormation as the repr of a dict, where AWS
                # keeps (and boto3 decodes) JSON.
                try:
                    doc = json.loads(doc)
                except json.JSONDecodeError:
                    doc = ast.literal_eval(doc)
            for s in doc["Statement"]:
                statements.append(
                    {
                        "effect": s["Effect"],
                        "actions": s["Action"] if isinstance(s["Action"], list) else [s["Action"]],
                        "resources": s["Resource"]
                        if isinstance(s["Resource"], list)
                        else [s["Resource"]],
                    }
                )
        attached = iam.list_attached_role_policies(RoleName=r["RoleName"])["AttachedPolicies"]
        roles[r["RoleName"]] = {
            "statements": statements,
            "managed": [a["PolicyArn"] for a in attached],
        }
    out["roles"] = roles

    # What moto leaves out, as the translated template declares it: the rest of the check can
    # only read these from the template (docs/deploy.md says which parts only a real deploy proves).
    declared = {"ttl": {}, "schedule_groups": []}
    for res in cfn["Resources"].values():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::DynamoDB::Table":
            declared["ttl"] = props.get("TimeToLiveSpecification", {})
        elif res["Type"] == "AWS::Scheduler::ScheduleGroup":
            declared["schedule_groups"].append(props.get("Name"))
    out["declared"] = declared
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--template", default="infra/template.yaml")
    ap.add_argument("--stack", required=True)
    ap.add_argument("--secrets-prefix", default="otklik/rehearsal")
    ap.add_argument("--endpoint", help="a running moto server (default: one of its own)")
    ap.add_argument("--keep", action="store_true", help="with --endpoint: leave the stack there")
    args = ap.parse_args()
    global ENDPOINT
    # The translator reads the region from a boto3 session; moto takes any credentials. Neither
    # is ever a real account's here.
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_ACCESS_KEY_ID"] = "rehearsal"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "rehearsal"
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    server = None
    if args.endpoint:
        ENDPOINT = args.endpoint
    else:
        server, ENDPOINT = own_moto_server()
    try:
        rehearse(args)
    finally:
        if server:
            server.terminate()
            server.wait(timeout=10)


def rehearse(args):
    parameters = {
        "SecretsPrefix": args.secrets_prefix,
        "SesIdentity": "shop.example",
        "AlarmEmail": "ops@shop.example",
    }
    # The translator needs the pseudo parameters a deploy would resolve (the moto account).
    translate_params = dict(parameters, **{"AWS::Region": REGION, "AWS::AccountId": "123456789012",
                                           "AWS::Partition": "aws", "AWS::StackName": args.stack})
    cfn = translate(args.template, translate_params)
    supported = moto_types()
    dropped_outputs = without_unsupported_outputs(cfn, supported)
    upload_placeholders(cfn)
    status, created = create_stack(args.stack, cfn, parameters)
    try:
        out = inventory(args.stack, cfn, created)
        out["status"] = status
        out["outputs_not_rehearsed"] = dropped_outputs
        out["not_created_by_moto"] = sorted(
            {r["Type"] for r in cfn["Resources"].values() if r["Type"] not in supported}
        )
        json.dump(out, sys.stdout, indent=1, sort_keys=True)
        print()
    finally:
        if args.endpoint and not args.keep:
            client("cloudformation").delete_stack(StackName=args.stack)


if __name__ == "__main__":
    main()
