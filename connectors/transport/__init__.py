"""HTTP plumbing shared by both connectors: request budgets (token buckets) and retries."""

from connectors.transport.ratelimit import Priority, TokenBucket, TokenBucketRegistry
from connectors.transport.retry import (
    RetryPolicy,
    backoff_delay,
    parse_retry_after,
    send_with_retries,
)

__all__ = [
    "Priority",
    "RetryPolicy",
    "TokenBucket",
    "TokenBucketRegistry",
    "backoff_delay",
    "parse_retry_after",
    "send_with_retries",
]
