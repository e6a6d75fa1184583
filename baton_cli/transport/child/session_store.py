"""The session store a child may call back into (subprocess.md §4), entries scoped by sync id.

Connectors that opt in keep per-sync state here (caches of ids, cursors) instead of memory of
their own, so it is shared by every call of one sync and dropped with it. Kept in memory:
it lives as long as the child, which lives as long as our command or daemon.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from baton_cli.pb.c1.connectorapi.baton.v1 import session_pb2 as pb
from baton_cli.pb.c1.connectorapi.baton.v1 import session_pb2_grpc

PAGE_SIZE = 100
MAX_VALUE_BYTES = 4 * 1024 * 1024

_Namespace = tuple[str, str]  # (sync id, prefix)


class SessionStore(session_pb2_grpc.BatonSessionServiceServicer):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[_Namespace, dict[str, bytes]] = {}

    def keys(self, sync_id: str) -> list[str]:
        """Every stored key of one sync as ``prefix + key`` (for tests and diagnostics)."""
        with self._lock:
            return sorted(p + k for (s, p), entries in self._entries.items() if s == sync_id for k in entries)

    # -- BatonSessionService ---------------------------------------------------------

    def Get(self, request: pb.GetRequest, context: grpc.ServicerContext) -> pb.GetResponse:
        with self._lock:
            value = self._namespace(request, context).get(request.key)
        return pb.GetResponse(value=value or b"", found=value is not None)

    def GetMany(self, request: pb.GetManyRequest, context: grpc.ServicerContext) -> pb.GetManyResponse:
        with self._lock:
            entries = self._namespace(request, context)
            items = [pb.GetManyItem(key=k, value=entries[k]) for k in request.keys if k in entries]
        return pb.GetManyResponse(items=items)

    def GetAll(self, request: pb.GetAllRequest, context: grpc.ServicerContext) -> pb.GetAllResponse:
        with self._lock:
            entries = self._namespace(request, context)
            keys = sorted(k for k in entries if k > request.page_token)
            page = keys[:PAGE_SIZE]
            items = [pb.GetAllItem(key=k, value=entries[k]) for k in page]
        token = page[-1] if len(keys) > PAGE_SIZE else ""
        return pb.GetAllResponse(items=items, page_token=token)

    def Set(self, request: pb.SetRequest, context: grpc.ServicerContext) -> pb.SetResponse:
        self._check_sizes([request.value], context)
        with self._lock:
            self._namespace(request, context, create=True)[request.key] = bytes(request.value)
        return pb.SetResponse()

    def SetMany(self, request: pb.SetManyRequest, context: grpc.ServicerContext) -> pb.SetManyResponse:
        self._check_sizes(request.values.values(), context)
        with self._lock:
            self._namespace(request, context, create=True).update(
                {k: bytes(v) for k, v in request.values.items()}
            )
        return pb.SetManyResponse()

    def Delete(self, request: pb.DeleteRequest, context: grpc.ServicerContext) -> pb.DeleteResponse:
        with self._lock:
            self._namespace(request, context).pop(request.key, None)
        return pb.DeleteResponse()

    def DeleteMany(
        self, request: pb.DeleteManyRequest, context: grpc.ServicerContext
    ) -> pb.DeleteManyResponse:
        with self._lock:
            entries = self._namespace(request, context)
            for key in request.keys:
                entries.pop(key, None)
        return pb.DeleteManyResponse()

    def Clear(self, request: pb.ClearRequest, context: grpc.ServicerContext) -> pb.ClearResponse:
        with self._lock:
            self._require_sync_id(request.sync_id, context)
            for namespace in [n for n in self._entries if n[0] == request.sync_id]:
                if not request.prefix or namespace[1].startswith(request.prefix):
                    del self._entries[namespace]
        return pb.ClearResponse()

    # -- helpers ------------------------------------------------------------------------

    def _namespace(
        self, request: Any, context: grpc.ServicerContext, *, create: bool = False
    ) -> dict[str, bytes]:
        self._require_sync_id(request.sync_id, context)
        namespace = (str(request.sync_id), str(request.prefix))
        if create:
            return self._entries.setdefault(namespace, {})
        return self._entries.get(namespace, {})

    @staticmethod
    def _require_sync_id(sync_id: str, context: grpc.ServicerContext) -> None:
        if not sync_id:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "session store: sync_id is required")

    @staticmethod
    def _check_sizes(values: Iterable[bytes], context: grpc.ServicerContext) -> None:
        if any(len(v) > MAX_VALUE_BYTES for v in values):
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"session store: values are limited to {MAX_VALUE_BYTES} bytes",
            )


def serve_session_store(store: SessionStore, unix_path: Path) -> grpc.Server:
    """A plaintext grpcio server on ``unix_path``; the TLS bridge fronts it for the child."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="baton-session"))
    session_pb2_grpc.add_BatonSessionServiceServicer_to_server(store, server)
    server.add_insecure_port(f"unix:{unix_path}")
    server.start()
    return server
