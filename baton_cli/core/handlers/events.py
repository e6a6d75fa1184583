"""Event feed tasks: list the feeds, list a page of events (runner.md §4).

Upstream returns without FinishTask when the connector call fails, so the
platform only learns of it by timing the task out; our emulator would hand the
task out again every lease period, forever. We finish it with the error
(retryable) instead.
"""

from __future__ import annotations

from datetime import UTC

from baton_cli.connector.api import Connector
from baton_cli.connector.services import EventFeedProvider
from baton_cli.core.handlers.common import NoCapability, TaskContext, packed_success
from baton_cli.core.handlers.outcomes import retryable
from baton_cli.core.task_source import Outcome, Success
from baton_cli.errors import UsageError
from baton_cli.pb.c1.connector.v2 import event_feed_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import baton_pb2

Task = baton_pb2.Task
MAX_PAGE_SIZE = 1000  # ListEventsRequest.page_size: lte 1000
MAX_CURSOR_BYTES = 4096


def event_feeds(connector: Connector) -> EventFeedProvider:
    if isinstance(connector, EventFeedProvider):
        return connector
    raise NoCapability("event feeds not implemented")


def handle_list_event_feeds(task: Task.ListEventFeedsTask, ctx: TaskContext) -> Outcome:
    def list_feeds() -> Outcome:
        feeds = event_feeds(ctx.connector).list_event_feeds()
        packed = packed_success(event_feed_pb2.ListEventFeedsResponse(list=feeds))
        return Success(response=packed.response)

    return retryable(ctx, list_feeds)


def handle_list_events(task: Task.ListEventsTask, ctx: TaskContext) -> Outcome:
    def list_events() -> Outcome:
        # The checks upstream's request validation makes before the connector sees the request.
        if task.page_size > MAX_PAGE_SIZE:
            raise UsageError(f"invalid ListEventsRequest.PageSize: value must be <= {MAX_PAGE_SIZE}")
        if len(task.cursor.encode()) > MAX_CURSOR_BYTES:
            raise UsageError(f"invalid ListEventsRequest.Cursor: at most {MAX_CURSOR_BYTES} bytes")
        start_at = task.start_at.ToDatetime(tzinfo=UTC) if task.HasField("start_at") else None
        page = event_feeds(ctx.connector).list_events(
            task.event_feed_id, start_at, task.cursor, task.page_size
        )
        response = event_feed_pb2.ListEventsResponse(
            events=page.events, cursor=page.cursor, has_more=page.has_more
        )
        return Success(response=packed_success(response).response)

    return retryable(ctx, list_events)
