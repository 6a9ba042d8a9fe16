"""Why a delivery failed, and what the outbox does about it: the core error tree (:mod:`core.errors`) under
the outbox's names.

::

    DeliveryError (ServiceError)          any failure to hand an alert to a messenger
     ├── RetryableDelivery (TransientError) 5xx, timeouts, connection errors: retried with back-off
     │    └── RateLimited                 429: retried after ``retry_after`` seconds (the messenger's own
     │                                    figure; ``None``: back-off)
     └── PermanentDelivery (PermanentError) the request itself is wrong (bad token, chat not found, invalid
                                          payload): retrying cannot help, the row is marked ``failed``

Every message is scrubbed of secrets (bot tokens, webhook URLs) before it is raised, logged or stored:
:func:`core.scrub.scrub` is the one place that knows what they look like.
"""

from __future__ import annotations

from core.errors import PermanentError as PermanentDelivery
from core.errors import RateLimited
from core.errors import ServiceError as DeliveryError
from core.errors import TransientError as RetryableDelivery
from core.scrub import scrub

__all__ = ["DeliveryError", "PermanentDelivery", "RateLimited", "RetryableDelivery", "scrub"]
