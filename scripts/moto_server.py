"""The local AWS endpoint: moto's server (pinned in requirements-dev.lock), with the costs that
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

Even unsorted, an index query still walked every item of the table, for every page: in the
December peak each inbound batch spent ~11 s in moto, and a customer's answer waited 95 s (p50)
to 188 s (p99) behind it. Now every index's items are filed by its hash key, kept by every write
(below), and a query walks only the items filed under its own key, as DynamoDB does; moto still
filters, sorts, pages and projects them itself, so the answer is the one it gave before.
`scripts/moto_index_query_bench.py` (a table of 45,000 items, 3,000 of them surveys on both
indexes; one process on a shared 2-core machine) measured the phone lookup at 56 ms (p50) before
and 3.4 ms after; the first query of an index files the table once (~1 s at 45,000 items). A
month's read of the `sent` index (3,000 surveys, two 1 MB pages) went only from 2.1 s to 1.9 s:
moto's serialisation of the answer, not the walk, takes most of it. The December peak run after it
(`make bench`, docs/performance.md) answered the customers' replies in p50 87 s / p99 163 s, against
95 s / 188 s before: the lookup's walk was a small part of what held them.

A query of the table itself (no index) walks every item too, though moto keeps them by partition
key: a year of 100,000 surveys made each read of a month of KPI counters (one partition of a few
hundred items) cost as much as a scan. Such a query now walks its own partition's items only, as
DynamoDB does; the answer is the same (moto filters the same items by the same key). Its matches
are no longer deep-copied before they are answered either: nothing changes them on the way out
(a projection builds new items), and the copy cost more than the rest of the query — 400 to 600 ms
for a month of those counters.
"""

import argparse
import copy
import os
import sys
import threading
import time

import waitress

from moto import backends
from moto.core import responses as core_responses
from moto.core.utils import camelcase_to_underscores, method_names_from_class, unix_time
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.dynamodb import models as ddb_models
from moto.dynamodb.models import table as table_module
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.sqs import models


def _within_retention(self, queue_name, message):
    queue = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
    return retain_until > unix_time()


models.SQSBackend.is_message_valid_based_on_retention_period = _within_retention


# moto's SQS reads the clock through `unix_time`, which builds two datetimes and subtracts them; it
# runs twice for every message of a queue each time the queue is scanned. `time.time()` is the same
# number (seconds since the epoch, UTC) at a fraction of the cost.
_unix_time = models.unix_time


def _fast_unix_time(dt=None):
    return time.time() if dt is None else _unix_time(dt)


models.unix_time = _fast_unix_time
models.unix_time_millis = lambda dt=None: _fast_unix_time(dt) * 1000.0

# Every SendMessage asks for the queue's attributes to read one flag (ContentBasedDeduplication),
# and moto computes all of them, three of which count the queue's messages by scanning it. At a
# December peak's first minute the intake queue held thousands, and those scans took 95% of the
# endpoint's CPU while the webhooks' sends queued behind them. The counts are now computed when
# they are read (GetQueueAttributes asks for them), and the answer is the same.
_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
)
_counting = threading.local()
_queue_attributes = models.Queue.attributes.fget


class _QueueAttributes(dict):
    """A queue's attributes in moto's order; the message counts filled in on first use."""

    def __init__(self, queue):
        _counting.skip = True
        try:
            super().__init__(_queue_attributes(queue))
        finally:
            _counting.skip = False
        self._queue = queue
        self._counted = False

    def _count(self):
        if not self._counted:
            self._counted = True
            for name in _COUNTS:
                dict.__setitem__(self, name, getattr(self._queue, camelcase_to_underscores(name)))

    def __getitem__(self, key):
        if key in _COUNTS:
            self._count()
        return super().__getitem__(key)

    def get(self, key, default=None):
        if key in _COUNTS:
            self._count()
        return super().get(key, default)

    def _whole(name):
        def method(self, *args):
            self._count()
            return getattr(dict, name)(self, *args)

        return method

    for _name in ("__iter__", "__len__", "__eq__", "__repr__", "keys", "items", "values", "copy"):
        locals()[_name] = _whole(_name)
    del _name, _whole


def _count_unless_skipped(prop):
    def count(self):
        return 0 if getattr(_counting, "skip", False) else prop.fget(self)

    return property(count)


for _name in _COUNTS:
    _attr = camelcase_to_underscores(_name)
    setattr(models.Queue, _attr, _count_unless_skipped(getattr(models.Queue, _attr)))
models.Queue.attributes = property(_QueueAttributes)

# DeleteMessage finds its message by walking the queue twice, building a list of every message's
# receipt handles at each step; DeleteMessageBatch does that per entry. With the dispatch and
# intake queues thousands deep in a December peak, these walks took an eighth of the queue
# process's time (py-spy, `make bench`). One walk now compares the handles in place; what is
# deleted, what stays and the error for an unknown handle are moto's.
#
# The walk holds the queue's lock (see "One queue, one thread at a time" below): it rebuilds the
# message list, and a message sent meanwhile on another thread was appended to the old list and
# lost with it.
def _delete_message(self, receipt_handle):
    with self._messages_lock:
        if receipt_handle in self.deleted_messages:
            # Already deleted: moto lets it be deleted again.
            return
        kept = []
        found = False
        for message in self._messages:
            if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
                found = True
                self.pending_messages.discard(message)
                self.deleted_messages.update(message.all_receipt_handles)
            else:
                kept.append(message)
        if not found:
            raise models.ReceiptHandleIsInvalid()
        self._messages = kept


models.Queue.delete_message = _delete_message

# moto keeps every SQS message it was ever sent, deleted or not, for its dashboard's record of all
# state (`/moto-api/data.json`), and that record dumps each of them. The tests read sent mail from
# that record (`ses`), polling it every few hundred milliseconds, so each message any test ever
# sent made every later poll slower: after a full test run the dump was 12 MB and took 10.7 s, half
# of it SQS messages, and a browser test waiting on a mail timed out. Messages are no longer kept
# for the record (a queue still holds its own until they are deleted); nothing reads them there.
class _NotKept(list):
    def append(self, item):
        pass


models.Message.instances_tracked = _NotKept()

# One queue, one thread at a time. moto's SQS changes a queue's messages and its set of received
# ("pending") messages from whichever server thread answers, with no lock but around the append of
# a sent message. Two things followed at a December peak (`make bench`), where the dispatch queue
# is thousands deep and sends, receives and deletes never stop:
# - a delete rebuilt the message list while another thread appended a sent message to the old one,
#   and the message was gone (`local_endpoint.rs` reproduced it: 3 of 800 messages lost); two
#   deletes rebuilding it at once put back what the other had deleted, to come back once its
#   visibility timeout ran out. That fits two peak runs that stopped one and two customers short
#   of asking everyone, with hundreds of messages in flight, idle consumers and nothing in a
#   dead-letter queue.
# - a receive walked the pending set while another receive added to it ("Set changed size during
#   iteration") and answered 500; the SDK retried it, but moto's receive marks messages received as
#   it goes, so a failure further on would hide them for the visibility timeout.
# A receive (without its long poll), a visibility change and a delete now each hold the queue's own
# lock, the one moto's append takes; the long poll waits outside it, as moto's does, on the same
# condition. What moto answers is unchanged.
_receive_message = models.SQSBackend.receive_message


def _receive_message_locked(
    self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names=None
):
    queue = self.get_queue(queue_name)
    polling_end = time.time() + wait_seconds_timeout
    while True:
        with queue._messages_lock:
            result = _receive_message(
                self, queue_name, count, 0, visibility_timeout, message_attribute_names
            )
        if result or not wait_seconds_timeout or time.time() > polling_end:
            return result
        queue.wait_for_messages(1)


models.SQSBackend.receive_message = _receive_message_locked
_change_message_visibility = models.SQSBackend.change_message_visibility


def _change_message_visibility_locked(self, queue_name, *args, **kwargs):
    with self.get_queue(queue_name)._messages_lock:
        return _change_message_visibility(self, queue_name, *args, **kwargs)


models.SQSBackend.change_message_visibility = _change_message_visibility_locked

# Every request is routed to its service by names that never change while the server runs, yet
# moto works them out again each time: it lists its own package directory (an `isdir` per
# service, some 200), tries the service's host against every service's URL patterns, and
# inspects the handler class for its action methods. In a December peak (py-spy, `make bench`)
# that was a seventh of the queue process's time and a tenth of DynamoDB's. Each is now worked out
# once per name and kept. With this and the delete below, the endpoint answered 623 `GetItem`s a
# second from 8 callers after a 1,000-order peak, against 255 and 354 in two runs before.
_moto_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _moto_modules
_backend_for_host = DomainDispatcherApplication.get_backend_for_host
_backend_of = {}


def _cached_backend_for_host(self, host):
    if host not in _backend_of:
        _backend_of[host] = _backend_for_host(self, host)
    return _backend_of[host]


DomainDispatcherApplication.get_backend_for_host = _cached_backend_for_host
_method_names = {}


def _cached_method_names(clazz):
    if clazz not in _method_names:
        _method_names[clazz] = frozenset(method_names_from_class(clazz))
    return _method_names[clazz]


core_responses.method_names_from_class = _cached_method_names

# Per thread: the server answers requests on several threads at once.
_in_query = threading.local()
_all_items_sorted = Table.all_items
_query = Table.query


def _all_items(self):
    candidates = getattr(_in_query, "candidates", None)
    if candidates is not None:
        return candidates
    partition = getattr(_in_query, "partition", None)
    if partition is not None and self.range_key_attr:
        return list(self.items.get(partition, {}).values())
    if getattr(_in_query, "active", False):
        if self.range_key_attr:
            # Lists first: a write on another thread may add an item while this walks them.
            return [item for by_range in list(self.items.values()) for item in list(by_range.values())]
        return list(self.items.values())
    # A scan: its walk of the items must not meet a write on another thread ("dictionary changed
    # size during iteration"), so it waits for the writes' lock.
    with _write_lock:
        return _all_items_sorted(self)


def _query_unsorted_scan(self, *args, **kwargs):
    _in_query.active = True
    # `query(hash_key, range_comparison, range_objs, limit, exclusive_start_key,
    # scan_index_forward, projection_expressions, index_name, ...)`, as moto's backend calls it.
    index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
    hash_key = args[0] if args else kwargs.get("hash_key")
    _in_query.partition = hash_key if index_name is None else None
    try:
        if index_name is not None:
            _in_query.candidates = _index_candidates(
                self, index_name, kwargs.get("hash_key_conditions")
            )
        return _query(self, *args, **kwargs)
    finally:
        _in_query.active = False
        _in_query.partition = None
        _in_query.candidates = None


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


# An index query walks only the items whose index hash key equals the query's, as DynamoDB does.
# Per table (an attribute of moto's Table, so a deleted or restored table takes its maps with it)
# and per attribute that is some index's hash key: {attribute value -> {primary key -> item}},
# built on the index's first query and kept by every write from then on (under `_write_lock`).
# moto still filters, sorts, pages and projects those candidates itself, so the map needs only to
# hold every item that could match (it holds exactly those with the attribute), and the answer is
# the one moto gave walking the whole table. A query racing a write to the item it would find may
# miss that item (filed under its old key, no longer matching it), as DynamoDB's global indexes
# are only eventually consistent; moto, walking an item mid-update, could do no better.
_MAPS = "_otklik_index_maps"


class _IndexMap:
    def __init__(self, attr):
        self.attr = attr
        self.buckets = {}  # DynamoType -> {(hash, range) -> Item}
        self.where = {}  # (hash, range) -> the DynamoType it is filed under


def _place(imap, pk, item):
    """File the item stored under `pk` (None: no item) by its value of the map's attribute."""
    old = imap.where.pop(pk, None)
    if old is not None:
        bucket = imap.buckets.get(old)
        if bucket is not None:
            bucket.pop(pk, None)
            if not bucket:
                del imap.buckets[old]
    if item is None:
        return
    value = item.attrs.get(imap.attr)
    if value is None:
        return  # a sparse index: the item is not in it
    # A copy: the key of a dict must not change under it if an update edits the value in place.
    value = DynamoType(value)
    try:
        bucket = imap.buckets.get(value)
    except TypeError:
        return  # a list, map or set: never equal to a key's string, number or binary
    if bucket is None:
        bucket = imap.buckets[value] = {}
    bucket[pk] = item
    imap.where[pk] = value


def _stored(table, hash_key, range_key):
    # `.get`, not `[]`: `items` is a defaultdict, and a lookup must not add a partition.
    if table.range_key_attr:
        partition = table.items.get(hash_key)
        item = partition.get(range_key) if partition else None
    else:
        item = table.items.get(hash_key)
    return item if isinstance(item, Item) else None


def _reindex(table, hash_key, range_key):
    """After a write to one primary key: file the item now stored there (or none) afresh."""
    maps = table.__dict__.get(_MAPS)
    if not maps:
        return
    item = _stored(table, hash_key, range_key)
    pk = (hash_key, range_key if table.range_key_attr else None)
    for imap in list(maps.values()):
        _place(imap, pk, item)


def _reindex_wire_key(table, key):
    """`_reindex` by a key in the wire format ({name: {type: value}}), as the backend takes it."""
    try:
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError, IndexError, AttributeError):
        return  # moto refused the malformed key before writing anything
    _reindex(table, hash_key, range_key)


def _index_candidates(table, index_name, hash_key_conditions):
    """The items an index query may match (a copied list), or None: walk them all, as moto does."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None:
        return None  # moto answers the unknown index itself
    attr = next((k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"), None)
    value = next((v for name, v in hash_key_conditions or [] if name == attr), None)
    if attr is None or value is None:
        return None
    maps = table.__dict__.get(_MAPS)
    imap = maps.get(attr) if maps else None
    if imap is None:
        with _write_lock:
            maps = table.__dict__.setdefault(_MAPS, {})
            imap = maps.get(attr)
            if imap is None:
                imap = _IndexMap(attr)
                for item in _all_items_sorted(table):
                    _place(imap, (item.hash_key, item.range_key), item)
                maps[attr] = imap  # only whole: a reader on another thread may look it up now
    try:
        bucket = imap.buckets.get(value)
    except TypeError:
        return None
    # One C call, so a write on another thread cannot change the bucket while it is copied.
    return list(bucket.values()) if bucket else []


_table_put = Table.put_item
_table_delete = Table.delete_item
_backend_update = ddb_models.DynamoDBBackend.update_item


def _put_indexed(self, item_attrs, *args, **kwargs):
    with _write_lock:
        try:
            return _table_put(self, item_attrs, *args, **kwargs)
        finally:
            if self.__dict__.get(_MAPS):
                _reindex_wire_key(self, item_attrs)


def _delete_indexed(self, hash_key, range_key, *args, **kwargs):
    with _write_lock:
        try:
            return _table_delete(self, hash_key, range_key, *args, **kwargs)
        finally:
            _reindex(self, hash_key, range_key)


def _update_indexed(self, table_name, key, *args, **kwargs):
    # moto edits a stored item in place (after putting an empty one if there was none), so the
    # map learns of an update only here; `finally`: a refused update may have edited it already.
    with _write_lock:
        try:
            return _backend_update(self, table_name, key, *args, **kwargs)
        finally:
            try:
                table = self.get_table(table_name)
            except Exception:  # moto refused the unknown table before writing anything
                table = None
            if table is not None and table.__dict__.get(_MAPS):
                _reindex_wire_key(table, key)


# Every write reaches an item through these three: the backend's put and delete (also for batch
# writes, transactions and their rollback) call the table's, PartiQL and imports call the table's
# directly, and only update_item edits a stored item in place. moto expires no item by TTL.
Table.put_item = _put_indexed
Table.delete_item = _delete_indexed
ddb_models.DynamoDBBackend.update_item = _update_indexed

# BatchWriteItem goes through put_item and delete_item.
for _name in ("put_item", "update_item", "delete_item"):
    setattr(
        ddb_models.DynamoDBBackend, _name, _locked(getattr(ddb_models.DynamoDBBackend, _name))
    )
ddb_models.copy = _NoTableCopy()
ddb_models.DynamoDBBackend.transact_write_items = _transact_items_only
Table.all_items = _all_items
Table.query = _query_unsorted_scan


# moto's own `moto_server` serves through werkzeug's development server, which answers every request
# with `Connection: close`: each AWS request then cost a new TCP connection and a new server thread,
# and at a December peak the clients opened ~120 connections a second, thousands lay in TIME-WAIT
# and connects timed out (3.1 s) once the listen queue was full. waitress keeps connections alive
# and answers on a fixed pool of threads. The pool is wide because a long-polling ReceiveMessage
# (up to 1 s here) holds a thread while it waits, and `make test` runs many stacks' pollers against
# one endpoint at once.
SERVER_THREADS = 256


def serve(argv):
    parser = argparse.ArgumentParser(description="the local AWS endpoint (moto, kept alive)")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args(argv)
    # moto builds some answers (queue URLs) from the port it runs on.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    waitress.serve(
        app,
        host=args.host,
        port=args.port,
        threads=SERVER_THREADS,
        backlog=1024,
        connection_limit=4096,
        # Idle connections are kept longer than the AWS SDK's pool keeps them (90 s), so the
        # client, not the server, ends them and never sends on a connection closing under it.
        channel_timeout=300,
        ident="otklik-local-aws",
        # select() cannot watch a descriptor past 1024: at a December peak's first minute the
        # clients held more connections than that while the requests queued.
        asyncore_use_poll=True,
    )


if __name__ == "__main__":
    serve(sys.argv[1:])
