"""The local AWS endpoint: moto's server (pinned in requirements-dev.lock), with one lookup made
cheap.

For every message it hands out, moto's ReceiveMessage checks the retention period by computing
all of the queue's attributes, three of which (the approximate message counts) scan the whole
queue. A receive from a queue thousands deep, as the intake queue is during a December peak
(`make bench`), then costs tens of thousands of scans, and the emulator, not the product, sets the
pace: 74% of moto's CPU went there in a 3,000-order run. Here the check reads the one attribute
it needs; what it decides is unchanged.
"""

import sys

from moto.core.utils import unix_time
from moto.server import main
from moto.sqs import models


def _within_retention(self, queue_name, message):
    queue = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
    return retain_until > unix_time()


models.SQSBackend.is_message_valid_based_on_retention_period = _within_retention

if __name__ == "__main__":
    sys.exit(main())
