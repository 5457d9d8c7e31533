"""The Web API client planbot's Slack adapter uses.

Only :class:`~slack_sdk.http_retry.builtin_async_handlers.AsyncRateLimitErrorRetryHandler`
is installed: on HTTP 429 Slack did nothing, so waiting ``Retry-After`` and sending the same
request again cannot post twice (https://api.slack.com/apis/rate-limits). slack-sdk's default
connection-error retry is left out on purpose: a ``chat.postMessage`` whose answer was lost
may have been posted, and sending it again would duplicate the section.
"""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

SLACK_API = "https://slack.com/api/"


def make_web_client(token: str, *, base_url: str = SLACK_API,
                    rate_limit_retries: int = 3) -> AsyncWebClient:
    """An ``AsyncWebClient`` for bot token ``token`` (``xoxb-``) at ``base_url`` (keep the
    trailing slash), retrying rate-limited calls up to ``rate_limit_retries`` times."""
    return AsyncWebClient(
        token=token, base_url=base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)])
