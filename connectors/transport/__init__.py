"""HTTP plumbing shared by both connectors: request budgets (token buckets) and retries."""

from connectors.transport.ratelimit import TokenBucket, TokenBucketRegistry
from connectors.transport.retry import (
    RetryPolicy,
    backoff_delay,
    parse_retry_after,
    send_with_retries,
)

__all__ = [
    "RetryPolicy",
    "TokenBucket",
    "TokenBucketRegistry",
    "backoff_delay",
    "parse_retry_after",
    "send_with_retries",
]
