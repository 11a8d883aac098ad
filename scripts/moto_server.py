"""The local AWS endpoint: moto's server (pinned in requirements-dev.lock), with two costs that
grow with the data made small. What moto answers is unchanged.

For every message it hands out, moto's ReceiveMessage checks the retention period by computing
all of the queue's attributes, three of which (the approximate message counts) scan the whole
queue. A receive from a queue thousands deep, as the intake queue is during a December peak
(`make bench`), then costs tens of thousands of scans, and the emulator, not the product, sets the
pace: 74% of moto's CPU went there in a 3,000-order run. Here the check reads the one attribute
it needs.

DynamoDB Query walks every item of the table, and moto first sorts them all (`Table.all_items`),
though the query sorts its own matches again afterwards. With 45,000 items, a table after a
3,000-order peak, one query on the phone index took 378 ms; the 1,000 replies of the peak, each
looking up its survey by phone, then queued up behind each other until the webhooks timed out.
Inside a query the items are now taken unsorted: 28 ms for the same query.

A query of the table itself (no index) walks every item too, though moto keeps them by partition
key: a year of 100,000 surveys made each read of a month of KPI counters (one partition of a few
hundred items) cost as much as a scan. Such a query now walks its own partition's items only, as
DynamoDB does; the answer is the same (moto filters the same items by the same key). Its matches
are no longer deep-copied before they are answered either: nothing changes them on the way out
(a projection builds new items), and the copy cost more than the rest of the query — 400 to 600 ms
for a month of those counters.
"""

import copy
import sys
import threading

from moto.core.utils import unix_time
from moto.server import main
from moto.dynamodb import models as ddb_models
from moto.dynamodb.models import table as table_module
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.sqs import models


def _within_retention(self, queue_name, message):
    queue = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
    return retain_until > unix_time()


models.SQSBackend.is_message_valid_based_on_retention_period = _within_retention

# Per thread: the server answers requests on several threads at once.
_in_query = threading.local()
_all_items_sorted = Table.all_items
_query = Table.query


def _all_items(self):
    partition = getattr(_in_query, "partition", None)
    if partition is not None and self.range_key_attr:
        return list(self.items.get(partition, {}).values())
    if getattr(_in_query, "active", False):
        if self.range_key_attr:
            return [item for by_range in self.items.values() for item in by_range.values()]
        return list(self.items.values())
    return _all_items_sorted(self)


def _query_unsorted_scan(self, *args, **kwargs):
    _in_query.active = True
    # `query(hash_key, range_comparison, range_objs, limit, exclusive_start_key,
    # scan_index_forward, projection_expressions, index_name, ...)`, as moto's backend calls it.
    index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
    hash_key = args[0] if args else kwargs.get("hash_key")
    _in_query.partition = hash_key if index_name is None else None
    try:
        return _query(self, *args, **kwargs)
    finally:
        _in_query.active = False
        _in_query.partition = None


class _CopyInQuery:
    """`copy` as moto's table module sees it: a table query's matches are answered as they are."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, *args, **kwargs):
        if getattr(_in_query, "partition", None) is not None and isinstance(x, list):
            return list(x)
        return copy.deepcopy(x, *args, **kwargs)


table_module.copy = _CopyInQuery()
# TransactWriteItems backs up every table it touches with a deep copy, once per item of the
# transaction, before doing anything: each survey save that carries the KPI counters' change cost
# a copy of the whole table, several times over, and a 300-order fault run slowed from ~14 to
# ~24 minutes. The backup is now the table's own structure copied (its partitions' dicts), the
# items shared except those the transaction names (copied deeply: an update changes its item in
# place), and taken once per call. A failed transaction is rolled back to the same state.
_in_transaction = threading.local()
_transact = ddb_models.DynamoDBBackend.transact_write_items


class _CopyInTransaction:
    """`copy` as moto's DynamoDB backend sees it: a transaction's table backup made cheap."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, *args, **kwargs):
        backups = getattr(_in_transaction, "backups", None)
        if backups is not None and isinstance(x, Table):
            if id(x) not in backups:
                backup = copy.copy(x)
                backup.items = copy.copy(x.items)
                for key, value in x.items.items():
                    if isinstance(value, dict):
                        backup.items[key] = dict(value)
                # The items the transaction names are copied deeply: an update changes its item
                # in place, and a failed transaction must find them as they were.
                for op in getattr(_in_transaction, "ops", []):
                    key = op.get("Key") or op.get("Item") or {}
                    h = key.get(x.hash_key_attr)
                    r = key.get(x.range_key_attr) if x.range_key_attr else None
                    if h is None:
                        continue
                    h = DynamoType(h)
                    if r is not None and h in backup.items:
                        r = DynamoType(r)
                        if r in backup.items[h]:
                            backup.items[h][r] = copy.deepcopy(backup.items[h][r])
                backups[id(x)] = backup
            return backups[id(x)]
        return copy.deepcopy(x, *args, **kwargs)


def _transact_with_cheap_backup(self, transact_items, *args, **kwargs):
    _in_transaction.backups = {}
    _in_transaction.ops = [next(iter(i.values())) for i in transact_items]
    try:
        return _transact(self, transact_items, *args, **kwargs)
    finally:
        _in_transaction.backups = None
        _in_transaction.ops = []


ddb_models.copy = _CopyInTransaction()
ddb_models.DynamoDBBackend.transact_write_items = _transact_with_cheap_backup
Table.all_items = _all_items
Table.query = _query_unsorted_scan

if __name__ == "__main__":
    sys.exit(main())
