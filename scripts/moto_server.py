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
            # Lists first: a write on another thread may add an item while this walks them.
            return [item for by_range in list(self.items.values()) for item in list(by_range.values())]
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
# A refused TransactWriteItems: moto rolls it back by putting back a deep copy of every table it
# touches, taken when it began (once per item of the transaction). Two things follow, neither of
# them DynamoDB's: each transaction copies the whole table (a survey save carrying the KPI
# counters' change is a transaction, and a 300-order fault run slowed from ~14 to ~24 minutes),
# and every write another caller made while a refused transaction ran is lost with the copy
# (the server answers on several threads): in the fault run, a credit saved meanwhile vanished.
# Here a transaction keeps a copy of the items it names only, and a refused one puts back just
# those; the writes (item, batch and transaction) take one lock, so a transaction's check and
# writes are not interleaved with another write, as DynamoDB isolates them.
_write_lock = threading.RLock()
_transact = ddb_models.DynamoDBBackend.transact_write_items


class _NoTableCopy:
    """`copy` as moto's DynamoDB backend sees it: a transaction's tables are not copied (the
    items it names are, below), so moto's own rollback puts back the very same table."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, *args, **kwargs):
        if isinstance(x, Table):
            return x
        return copy.deepcopy(x, *args, **kwargs)


def _key_of(backend, op):
    """The key of the item a transaction's operation names, in the wire format."""
    if "Key" in op:
        return op["Key"]
    table = backend.get_table(op["TableName"])
    attrs = op.get("Item", {})
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _transact_items_only(self, transact_items, *args, **kwargs):
    with _write_lock:
        before = []
        for item in transact_items:
            op = next(iter(item.values()))
            name = op.get("TableName")
            if name not in self.tables:
                continue
            try:
                key = _key_of(self, op)
            except KeyError:
                continue  # moto refuses the malformed operation itself, before writing
            current = self.get_item(name, key)
            before.append((name, key, current.to_json()["Attributes"] if current else None))
        try:
            return _transact(self, transact_items, *args, **kwargs)
        except BaseException:
            for name, key, attrs in reversed(before):
                if attrs is None:
                    self.delete_item(name, key)
                else:
                    self.put_item(name, attrs)
            raise


def _locked(method):
    def run(self, *args, **kwargs):
        with _write_lock:
            return method(self, *args, **kwargs)

    return run


# BatchWriteItem goes through put_item and delete_item.
for _name in ("put_item", "update_item", "delete_item"):
    setattr(
        ddb_models.DynamoDBBackend, _name, _locked(getattr(ddb_models.DynamoDBBackend, _name))
    )
ddb_models.copy = _NoTableCopy()
ddb_models.DynamoDBBackend.transact_write_items = _transact_items_only
Table.all_items = _all_items
Table.query = _query_unsorted_scan

if __name__ == "__main__":
    sys.exit(main())
