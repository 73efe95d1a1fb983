"""Notifications: routing alerts to email, Slack, SMS, webhooks, Alertmanager and Apprise.

See docs/notifications.md. The broker builds a :class:`Notifier` from the parsed config,
attaches ``notifier.handle`` to the event bus and calls ``start()``/``stop()``.
"""

from broker.notify.base import (
    Channel,
    DeliveryError,
    Notification,
    PermanentError,
    TemporaryError,
)
from broker.notify.config import NotifyConfig, ReceiverConfig, parse_notify_config
from broker.notify.dispatcher import Notifier

__all__ = ["Channel", "DeliveryError", "Notification", "NotifyConfig", "Notifier",
           "PermanentError", "ReceiverConfig", "TemporaryError", "parse_notify_config"]
