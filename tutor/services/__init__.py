"""Writes for the tutor. Split by topic; import from here."""

from tutor.services.conversations import (  # noqa: F401
    MessageRejected,
    conversation_request_human,
    conversation_start,
    message_add_learner,
    message_add_ta,
    message_rate,
)
from tutor.services.quota import QuotaExceeded, allowance_status, allowance_take  # noqa: F401
