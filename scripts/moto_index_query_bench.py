"""How long the local endpoint takes to answer the main table's index queries once the table holds
a December peak's worth of items: a measurement for scripts/moto_server.py, not a test.

    .venv/bin/python scripts/moto_index_query_bench.py http://127.0.0.1:PORT [ITEMS]

Creates a table of its own shaped like the stack's (pk/sk, gsi1 by phone, gsi2 by sent month),
fills it with ITEMS items (default 45,000: 3,000 surveys with both index keys, the rest without,
as the peak's events and counters are), then times the survey store's phone lookup (gsi1, newest
first, Limit 20) and a month's read of gsi2 paged to its end, each over HTTP as the functions send
them, and prints the median and the slowest.
"""

import statistics
import sys
import time
import uuid

import boto3

endpoint = sys.argv[1]
total = int(sys.argv[2]) if len(sys.argv) > 2 else 45_000
surveys = min(3_000, total)
ddb = boto3.client(
    "dynamodb",
    endpoint_url=endpoint,
    region_name="eu-central-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)
table = f"index-bench-{uuid.uuid4().hex[:8]}"
S = lambda v: {"S": v}  # noqa: E731


def index(name):
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": f"{name}pk", "KeyType": "HASH"},
            {"AttributeName": f"{name}sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


ddb.create_table(
    TableName=table,
    BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[
        {"AttributeName": a, "AttributeType": "S"}
        for a in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
    ],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    GlobalSecondaryIndexes=[index("gsi1"), index("gsi2")],
)


def item(i):
    if i < surveys:
        return {
            "pk": S(f"survey#{i}"),
            "sk": S("survey"),
            "gsi1pk": S(f"phone#{i:064x}"),
            "gsi1sk": S(f"2026-12-06T10:00:00Z#{i}"),
            "gsi2pk": S("sent#2026-12"),
            "gsi2sk": S(f"2026-12-06T10:00:00Z#{i}"),
            "doc": S("d" * 600),
        }
    return {"pk": S(f"survey#{i % surveys}"), "sk": S(f"event#{i}"), "doc": S("e" * 200)}


started = time.monotonic()
for first in range(0, total, 25):
    batch = [{"PutRequest": {"Item": item(i)}} for i in range(first, min(first + 25, total))]
    ddb.batch_write_item(RequestItems={table: batch})
print(f"{total} items written in {time.monotonic() - started:.0f} s")


def timed(run, times):
    spent = []
    for _ in range(times):
        t = time.monotonic()
        run()
        spent.append((time.monotonic() - t) * 1000)
    return f"p50 {statistics.median(spent):.1f} ms, max {max(spent):.1f} ms ({times} queries)"


def by_phone():
    got = ddb.query(
        TableName=table,
        IndexName="gsi1",
        KeyConditionExpression="#pk = :pk",
        ExpressionAttributeNames={"#pk": "gsi1pk"},
        ExpressionAttributeValues={":pk": S(f"phone#{1234:064x}")},
        ScanIndexForward=False,
        Limit=20,
    )
    assert got["Count"] == 1, got


def month():
    start, seen = None, 0
    while True:
        page = ddb.query(
            TableName=table,
            IndexName="gsi2",
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": "gsi2pk"},
            ExpressionAttributeValues={":pk": S("sent#2026-12")},
            **({"ExclusiveStartKey": start} if start else {}),
        )
        seen += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == surveys, seen


print("phone index (gsi1), one phone:", timed(by_phone, 50))
print(f"sent index (gsi2), a month of {surveys} surveys, all pages:", timed(month, 5))
ddb.delete_table(TableName=table)
