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
"""

import sys
import threading

from moto.core.utils import unix_time
from moto.server import main
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
    if getattr(_in_query, "active", False):
        if self.range_key_attr:
            return [item for by_range in self.items.values() for item in by_range.values()]
        return list(self.items.values())
    return _all_items_sorted(self)


def _query_unsorted_scan(self, *args, **kwargs):
    _in_query.active = True
    try:
        return _query(self, *args, **kwargs)
    finally:
        _in_query.active = False


Table.all_items = _all_items
Table.query = _query_unsorted_scan

if __name__ == "__main__":
    sys.exit(main())
