"""A stand-in for an upstream Go connector binary, following subprocess.md to the letter.

Run as ``standin.py [demo flags] [test flags] _connector-service``. It takes its listening socket
from ``BATON_CONNECTOR_SERVICE_LISTENER_FD``, reads one base64 ``ServerConfig`` line from stdin,
serves mutual TLS with the Ed25519 credential it was given (TLS 1.2 minimum, client certificate
signed by the CA required, ALPN h2 required: other connections are dropped), exits 0 on stdin
EOF, writes zap-style JSON logs on stderr, and serves the bundled demo connector's data through
the ``c1.connector.v2`` services, the demo's ticket system, actions and event feed included.
Provisioning services answer FAILED_PRECONDITION unless ``--provisioning`` is given, the tickets
service unless ``--ticketing`` is, as upstream's do. CreateAccount, RotateCredential and
IssueCredential encrypt the new credentials here, in the child, for the request's
``baton/age/v1`` configs, as upstream's SDK does (runner.md §8); the secret itself never leaves
this process.

Upstream connectors' argument shapes (the README's documented forms):
  --db-file P [--init-db]  as baton-demo: the demo's data kept in P (its --state-file); with
                           --init-db P starts afresh, without it P must exist
  --input FILE             as baton-file: serve what FILE, a c1z written by an upstream connector,
                           recorded (tests/child/replay.py) instead of the demo

Test-only flags:
  --crash-on-grants N      log an error line and exit 3 at the N-th ListGrants call
  --hold-grants            block ListGrants until stdin closes (for signal tests)
  --held-file P            with --hold-grants: write our pid to P once a call is held
  --plain-socket P         also serve plaintext gRPC on Unix socket P (the benchmark's baseline)
  --unavailable-grants N   answer the first N ListGrants calls UNAVAILABLE
  --invalid-grants         answer ListGrants INVALID_ARGUMENT
  --use-session-store      write and read back the parent's session store during the sync
  --sdk-version V          what Validate reports (default v0.5.0)
  --ignore-stdin-eof       misbehave: keep running after stdin closes
  --pid-file P             write our pid to P once serving
  --required-domain        refuse to start without --domain (as a connector with a required flag)
  --limiter-log P          append one JSON line to P per connector call served and per rate
                           limiter Do / Report (the limiter itself follows the ServerConfig's
                           rate_limiter_config: fixed_mem is a fixed window, else no-op EMPTY)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import socket
import ssl
import sys
import tempfile
import threading
import time
from concurrent import futures
from datetime import UTC
from pathlib import Path
from typing import Any

import grpc
import pyrage  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from google.protobuf import any_pb2, json_format

from baton_cli.connector import demo
from baton_cli.connector.api import (
    AccountManager,
    AccountRequest,
    Credential,
    CredentialIssuer,
    CredentialRotator,
    IssueRequest,
    Provisioner,
    ResourceCreator,
    ResourceDeleter,
    ResourceGetter,
)
from baton_cli.connector.capabilities import connector_metadata_with_capabilities
from baton_cli.connector.config import resolve_config
from baton_cli.errors import BatonError
from baton_cli.pb.c1.connector.v2 import (
    action_pb2,
    action_pb2_grpc,
    annotation_etag_pb2,
    connector_pb2,
    connector_pb2_grpc,
    entitlement_pb2,
    entitlement_pb2_grpc,
    event_feed_pb2,
    event_feed_pb2_grpc,
    grant_pb2,
    grant_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
    ticket_pb2,
    ticket_pb2_grpc,
)
from baton_cli.pb.c1.connector_wrapper.v1 import connector_wrapper_pb2
from baton_cli.pb.c1.connectorapi.baton.v1 import session_pb2, session_pb2_grpc
from baton_cli.pb.c1.ratelimit.v1 import ratelimit_pb2, ratelimit_pb2_grpc

SUBCOMMAND = "_connector-service"
FLAGS_WITH_VALUE = {
    "--crash-on-grants",
    "--unavailable-grants",
    "--sdk-version",
    "--pid-file",
    "--held-file",
    "--plain-socket",
    "--domain",
    "--limiter-log",
    "--db-file",
    "--input",
}
FLAGS = {
    "--provisioning",
    "--ticketing",
    "--hold-grants",
    "--invalid-grants",
    "--use-session-store",
    "--required-domain",
    "--ignore-stdin-eof",
    "--init-db",
}


def log(level: str, msg: str, **fields: Any) -> None:
    record = {"level": level, "ts": time.time(), "caller": "standin.py", "msg": msg, **fields}
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()


def fail(msg: str) -> None:
    log("error", msg)
    sys.stderr.flush()
    os._exit(1)


def split_args(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    if not argv or argv[-1] != SUBCOMMAND:
        fail(f"expected {SUBCOMMAND} as the last argument, got {argv[-1:]}")
    ours: dict[str, str] = {}
    rest: list[str] = []
    args = iter(argv[:-1])
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in FLAGS_WITH_VALUE:
            ours[name] = value if eq else next(args, "")
        elif name in FLAGS:
            ours[name] = "true"
        else:
            rest.append(arg)
    return ours, rest


class Faults:
    def __init__(self, flags: dict[str, str], stdin_closed: threading.Event) -> None:
        self.crash_on = int(flags.get("--crash-on-grants", "0"))
        self.unavailable_left = int(flags.get("--unavailable-grants", "0"))
        self.invalid = "--invalid-grants" in flags
        self.hold = "--hold-grants" in flags
        self.held_file = flags.get("--held-file", "")
        self.stdin_closed = stdin_closed
        self.grant_calls = 0
        self.lock = threading.Lock()


def abort(context: grpc.ServicerContext, error: BatonError) -> None:
    context.abort(grpc.StatusCode[error.code.name], str(error))


AGE_PROVIDER = "baton/age/v1"


def seal(credentials: Any, configs: Any, context: grpc.ServicerContext) -> list[Any]:
    """Each plaintext once per config, plaintexts outer (runner.md §8); age X25519 recipients only."""
    recipients = []
    for index, config in enumerate(configs):
        inferred = AGE_PROVIDER if config.HasField("age_recipient_config") else ""
        provider = config.provider.lower() or inferred
        if provider != AGE_PROVIDER:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"encryption config {index}: provider {provider!r}")
        text = config.age_recipient_config.recipient
        try:
            recipients.append((text, pyrage.x25519.Recipient.from_str(text)))
        except Exception:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"encryption config {index}: bad age recipient")
    return [
        resource_pb2.EncryptedData(
            provider=AGE_PROVIDER,
            key_ids=[hashlib.sha256(text.encode()).hexdigest()],
            name=credential.name,
            description=credential.description,
            encrypted_bytes=pyrage.encrypt(credential.bytes_, [recipient]),
        )
        for credential in credentials
        for text, recipient in recipients
    ]


def account_request(info: Any) -> AccountRequest:
    emails = [e.address for e in info.emails if e.is_primary] or [e.address for e in info.emails]
    return AccountRequest(login=info.login, email=emails[0] if emails else "")


class Service(
    action_pb2_grpc.ActionServiceServicer,
    event_feed_pb2_grpc.EventServiceServicer,
    ticket_pb2_grpc.TicketsServiceServicer,
    resource_pb2_grpc.ResourceManagerServiceServicer,
    resource_pb2_grpc.AccountManagerServiceServicer,
    resource_pb2_grpc.CredentialManagerServiceServicer,
    connector_pb2_grpc.ConnectorServiceServicer,
    resource_pb2_grpc.ResourceTypesServiceServicer,
    resource_pb2_grpc.ResourcesServiceServicer,
    resource_pb2_grpc.ResourceGetterServiceServicer,
    resource_pb2_grpc.ResourceDeleterServiceServicer,
    entitlement_pb2_grpc.EntitlementsServiceServicer,
    grant_pb2_grpc.GrantsServiceServicer,
    grant_pb2_grpc.GrantManagerServiceServicer,
):
    def __init__(self, connector: Any, flags: dict[str, str], faults: Faults, session: Any) -> None:
        self.connector = connector
        self.syncers = {s.resource_type.id: s for s in connector.resource_syncers()}
        self.flags = flags
        self.provisioning = "--provisioning" in flags
        self.faults = faults
        self.session = session

    def _syncer(self, type_id: str, context: grpc.ServicerContext) -> Any:
        if type_id not in self.syncers:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no resource type {type_id!r}")
        return self.syncers[type_id]

    def _provisioning(self, context: grpc.ServicerContext) -> None:
        if not self.provisioning:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "provisioning is not enabled")

    def _ticketing(self, context: grpc.ServicerContext) -> None:
        if "--ticketing" not in self.flags:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "ticketing is not enabled")

    def GetMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        metadata = connector_metadata_with_capabilities(self.connector, ticketing="--ticketing" in self.flags)
        return connector_pb2.ConnectorServiceGetMetadataResponse(metadata=metadata)

    def Validate(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            self.connector.validate()
        except BatonError as error:
            abort(context, error)
        return connector_pb2.ConnectorServiceValidateResponse(
            sdk_version=self.flags.get("--sdk-version", "v0.5.0")
        )

    def Cleanup(self, request: Any, context: grpc.ServicerContext) -> Any:
        log("info", "cleanup", active_sync_id=request.active_sync_id)
        return connector_pb2.ConnectorServiceCleanupResponse()

    def ListResourceTypes(self, request: Any, context: grpc.ServicerContext) -> Any:
        types = [s.resource_type for s in self.syncers.values()]
        return resource_pb2.ResourceTypesServiceListResourceTypesResponse(list=types)

    def ListResources(self, request: Any, context: grpc.ServicerContext) -> Any:
        syncer = self._syncer(request.resource_type_id, context)
        parent = request.parent_resource_id if request.HasField("parent_resource_id") else None
        if self.session is not None and not request.page_token:
            self.session.record(request.active_sync_id, request.resource_type_id)
        try:
            page = syncer.list(parent, request.page_token)
        except BatonError as error:
            abort(context, error)
        return resource_pb2.ResourcesServiceListResourcesResponse(
            list=page.items, next_page_token=page.next_token
        )

    def GetResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        syncer = self._syncer(request.resource_id.resource_type, context)
        if not isinstance(syncer, ResourceGetter):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "no getter")
        parent = request.parent_resource_id if request.HasField("parent_resource_id") else None
        resource = syncer.get(request.resource_id, parent)
        if resource is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "resource not found")
        return resource_pb2.ResourceGetterServiceGetResourceResponse(resource=resource)

    def ListEntitlements(self, request: Any, context: grpc.ServicerContext) -> Any:
        syncer = self._syncer(request.resource.id.resource_type, context)
        page = syncer.entitlements(request.resource, request.page_token)
        return entitlement_pb2.EntitlementsServiceListEntitlementsResponse(
            list=page.items, next_page_token=page.next_token
        )

    def ListStaticEntitlements(self, request: Any, context: grpc.ServicerContext) -> Any:
        return entitlement_pb2.EntitlementsServiceListStaticEntitlementsResponse()

    def ListGrants(self, request: Any, context: grpc.ServicerContext) -> Any:
        faults = self.faults
        with faults.lock:
            faults.grant_calls += 1
            call = faults.grant_calls
            unavailable = faults.unavailable_left > 0
            faults.unavailable_left -= 1 if unavailable else 0
        if faults.hold:
            log("info", "holding ListGrants until stdin closes")
            if faults.held_file:
                Path(faults.held_file).write_text(str(os.getpid()))
            faults.stdin_closed.wait()
        if faults.crash_on and call >= faults.crash_on:
            log("error", "lost the connection to the directory", error="read tcp: connection reset by peer")
            os._exit(3)
        if unavailable:
            context.abort(grpc.StatusCode.UNAVAILABLE, "directory briefly unavailable")
        if faults.invalid:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the directory rejected the request")
        syncer = self._syncer(request.resource.id.resource_type, context)
        page = syncer.grants(request.resource, request.page_token)
        return grant_pb2.GrantsServiceListGrantsResponse(list=page.items, next_page_token=page.next_token)

    def Grant(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._provisioning(context)
        syncer = self._syncer(request.entitlement.resource.id.resource_type, context)
        if not isinstance(syncer, Provisioner):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "not provisionable")
        try:
            grants = syncer.grant(request.principal, request.entitlement)
        except BatonError as error:
            abort(context, error)
        log("info", "granted", entitlement=request.entitlement.id, principal=request.principal.id.resource)
        return grant_pb2.GrantManagerServiceGrantResponse(grants=grants)

    def Revoke(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._provisioning(context)
        syncer = self._syncer(request.grant.entitlement.resource.id.resource_type, context)
        try:
            syncer.revoke(request.grant)
        except BatonError as error:
            abort(context, error)
        return grant_pb2.GrantManagerServiceRevokeResponse()

    def DeleteResourceV2(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._provisioning(context)
        syncer = self._syncer(request.resource_id.resource_type, context)
        if not isinstance(syncer, ResourceDeleter):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "not deletable")
        try:
            syncer.delete(request.resource_id, None)
        except BatonError as error:
            abort(context, error)
        return resource_pb2.DeleteResourceV2Response()

    def CreateAccount(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._provisioning(context)
        syncer = self._syncer(request.resource_type_id or "user", context)
        if not isinstance(syncer, AccountManager):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "no account manager")
        if not request.encryption_configs:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no encryption configs")
        try:
            result = syncer.create_account(account_request(request.account_info))
        except BatonError as error:
            abort(context, error)
        response = resource_pb2.CreateAccountResponse(
            encrypted_data=seal(result.credentials, request.encryption_configs, context)
        )
        outcome = response.already_exists if result.already_existed else response.success
        outcome.resource.CopyFrom(result.resource)
        outcome.is_create_account_result = True
        log("info", "created account", login=request.account_info.login, sealed=len(response.encrypted_data))
        return response

    def RotateCredential(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._provisioning(context)
        syncer = self._syncer(request.resource_id.resource_type, context)
        if not isinstance(syncer, CredentialRotator):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "no credential manager")
        try:
            credentials: list[Credential] = list(syncer.rotate_credentials(request.resource_id))
        except BatonError as error:
            abort(context, error)
        sealed = seal(credentials, request.encryption_configs, context)
        log("info", "rotated credentials", resource=request.resource_id.resource, sealed=len(sealed))
        return resource_pb2.RotateCredentialResponse(encrypted_data=sealed, resource_id=request.resource_id)

    def CreateResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._provisioning(context)
        syncer = self._syncer(request.resource.id.resource_type, context)
        if not isinstance(syncer, ResourceCreator):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "no resource manager")
        try:
            created = syncer.create(request.resource)
        except BatonError as error:
            abort(context, error)
        log("info", "created resource", resource=created.id.resource)
        return resource_pb2.CreateResourceResponse(created=created)

    def DeleteResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.DeleteResourceV2(request, context)
        return resource_pb2.DeleteResourceResponse()

    def IssueCredential(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._provisioning(context)
        syncer = self._syncer(request.identity_id.resource_type, context)
        if not isinstance(syncer, CredentialIssuer):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "no credential issuer")
        issue = IssueRequest(
            identity_id=request.identity_id,
            options=request.credential_options,
            request_id=request.request_id,
            expires_at=request.expires_at.ToDatetime() if request.HasField("expires_at") else None,
        )
        try:
            issued = syncer.issue_credential(issue)
        except BatonError as error:
            abort(context, error)
        sealed = seal(issued.credentials, request.encryption_configs, context)
        log("info", "issued credential", identity=request.identity_id.resource, sealed=len(sealed))
        response = resource_pb2.IssueCredentialResponse(
            encrypted_data=sealed, resource_mode=issued.resource_mode, request_id=request.request_id
        )
        if issued.secret is not None:
            response.secret.CopyFrom(issued.secret)
        return response

    # -- tickets (only with --ticketing) ----------------------------------------------------

    def ListTicketSchemas(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._ticketing(context)
        page = self.connector.list_ticket_schemas(request.page_token)
        response = ticket_pb2.TicketsServiceListTicketSchemasResponse
        return response(list=page.items, next_page_token=page.next_token)

    def GetTicketSchema(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._ticketing(context)
        schemas = {schema.id: schema for schema in self.connector.list_ticket_schemas("").items}
        if request.id not in schemas:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no ticket schema {request.id!r}")
        return ticket_pb2.TicketsServiceGetTicketSchemaResponse(schema=schemas[request.id])

    def _create_ticket(self, request: Any) -> Any:
        schema = request.schema if request.HasField("schema") else None
        ticket = self.connector.create_ticket(request.request, schema)
        response = ticket_pb2.TicketsServiceCreateTicketResponse
        return response(ticket=ticket, annotations=[self.etag("created")])

    def etag(self, value: str) -> Any:
        """Upstream connectors answer with annotations of their own; the parent must keep them."""
        packed = any_pb2.Any()
        packed.Pack(annotation_etag_pb2.ETag(value=f"standin-{value}"))
        return packed

    def CreateTicket(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._ticketing(context)
        try:
            response = self._create_ticket(request)
        except BatonError as error:
            abort(context, error)
        log("info", "created ticket", ticket=response.ticket.id, annotations=len(request.annotations))
        return response

    def GetTicket(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._ticketing(context)
        ticket = self.connector.get_ticket(request.id)
        if ticket is None:
            return ticket_pb2.TicketsServiceGetTicketResponse()
        return ticket_pb2.TicketsServiceGetTicketResponse(ticket=ticket, annotations=[self.etag("got")])

    def BulkCreateTickets(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._ticketing(context)
        answers = []
        for item in request.ticket_requests:
            try:
                answers.append(self._create_ticket(item))
            except BatonError as error:
                answers.append(ticket_pb2.TicketsServiceCreateTicketResponse(error=str(error)))
        return ticket_pb2.TicketsServiceBulkCreateTicketsResponse(tickets=answers)

    def BulkGetTickets(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._ticketing(context)
        answers = []
        for item in request.ticket_requests:
            ticket = self.connector.get_ticket(item.id)
            if ticket is None:
                missing = f"ticket {item.id!r} not found"
                answers.append(ticket_pb2.TicketsServiceGetTicketResponse(error=missing))
            else:
                answers.append(ticket_pb2.TicketsServiceGetTicketResponse(ticket=ticket))
        return ticket_pb2.TicketsServiceBulkGetTicketsResponse(tickets=answers)

    # -- actions and event feeds -------------------------------------------------------------

    def ListActionSchemas(self, request: Any, context: grpc.ServicerContext) -> Any:
        schemas = self.connector.list_action_schemas(request.resource_type_id)
        return action_pb2.ListActionSchemasResponse(schemas=schemas)

    def GetActionSchema(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            schema = self.connector.get_action_schema(request.name)
        except BatonError as error:
            abort(context, error)
        return action_pb2.GetActionSchemaResponse(schema=schema)

    def InvokeAction(self, request: Any, context: grpc.ServicerContext) -> Any:
        log("info", "invoking action", action=request.name, annotations=len(request.annotations))
        try:
            return self.connector.invoke_action(
                request.name, json_format.MessageToDict(request.args), request.resource_type_id
            )
        except BatonError as error:
            abort(context, error)

    def GetActionStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return self.connector.action_status(request.id)
        except BatonError as error:
            abort(context, error)

    def ListEventFeeds(self, request: Any, context: grpc.ServicerContext) -> Any:
        return event_feed_pb2.ListEventFeedsResponse(list=self.connector.list_event_feeds())

    def ListEvents(self, request: Any, context: grpc.ServicerContext) -> Any:
        start_at = request.start_at.ToDatetime(tzinfo=UTC) if request.HasField("start_at") else None
        try:
            page = self.connector.list_events(
                request.event_feed_id, start_at, request.cursor, request.page_size
            )
        except BatonError as error:
            abort(context, error)
        response = event_feed_pb2.ListEventsResponse
        return response(events=page.events, cursor=page.cursor, has_more=page.has_more)


class Limiter(ratelimit_pb2_grpc.RateLimiterServiceServicer):
    """The child's limiter as the SDK builds it from the ServerConfig: none or disabled answers
    EMPTY; fixed_mem admits ``rate`` calls per ``period`` window, then OVERLIMIT until it ends."""

    def __init__(self, config: Any, log_path: str) -> None:
        kind = config.WhichOneof("type") if config is not None else None
        self.rate = config.fixed_mem.rate if kind == "fixed_mem" else 0
        self.period = config.fixed_mem.period.ToTimedelta().total_seconds() if self.rate else 0.0
        self.log_path = log_path
        self.lock = threading.Lock()
        self.window_start = 0.0
        self.used = 0
        self.tokens = 0
        log("info", "rate limiter", kind=kind or "none", rate=self.rate, period_seconds=self.period)

    def note(self, **record: Any) -> None:
        if self.log_path:
            with self.lock, open(self.log_path, "a") as out:
                out.write(json.dumps(record) + "\n")

    def Do(self, request: Any, context: grpc.ServicerContext) -> Any:
        entries = {e.key: e.value for e in request.descriptors.entries}
        description = ratelimit_pb2.RateLimitDescription
        with self.lock:
            self.tokens += 1
            token = request.request_token or f"t{self.tokens}"
            now = time.time()
            if not self.rate:
                status = description.STATUS_EMPTY
            else:
                if now >= self.window_start + self.period:
                    self.window_start, self.used = now, 0
                status = description.STATUS_OK if self.used < self.rate else description.STATUS_OVERLIMIT
                self.used += status == description.STATUS_OK
            reset_at = self.window_start + self.period
        answer = ratelimit_pb2.DoResponse(request_token=token, description=description(status=status))
        if status == description.STATUS_OVERLIMIT:
            answer.description.reset_at.FromNanoseconds(int(reset_at * 1e9))
        self.note(
            kind="do",
            service=request.service,
            method=entries.get("connector_method", ""),
            resource_type=entries.get("connector_resource_type", ""),
            status=description.Status.Name(status),
        )
        return answer

    def Report(self, request: Any, context: grpc.ServicerContext) -> Any:
        entries = {e.key: e.value for e in request.descriptors.entries}
        status = ratelimit_pb2.RateLimitDescription.Status.Name(request.description.status)
        self.note(kind="report", method=entries.get("connector_method", ""), status=status)
        return ratelimit_pb2.ReportResponse()


class CallLog(grpc.ServerInterceptor):
    """Records every connector call served (the limiter's own calls excepted)."""

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        method = handler_call_details.method
        if not method.startswith("/c1.ratelimit.v1."):
            self.limiter.note(kind="call", method=method)
        return continuation(handler_call_details)


def go_key_to_private(raw: bytes) -> ed25519.Ed25519PrivateKey:
    if len(raw) != 64:
        fail(f"credential key must be Go's 64-byte ed25519 form, got {len(raw)} bytes")
    key = ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32])
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if public != raw[32:]:
        fail("credential key: public half does not match the seed")
    return key


def pem_files(directory: Path, credential: Any, stem: str) -> tuple[str, str]:
    cert = x509.load_der_x509_certificate(credential.cert)
    if not isinstance(cert.public_key(), ed25519.Ed25519PublicKey):
        fail("credential certificate is not Ed25519")
    key = go_key_to_private(credential.key)
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        writer.close()


class SessionProbe:
    """Writes one entry per listed resource type into the parent's session store and reads them back."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = session_pb2_grpc.BatonSessionServiceStub(channel)

    def record(self, sync_id: str, type_id: str) -> None:
        self.stub.Set(session_pb2.SetRequest(sync_id=sync_id, key=type_id, value=b"listed", prefix="types/"))
        items = self.stub.GetAll(session_pb2.GetAllRequest(sync_id=sync_id, prefix="types/")).items
        log("info", "session store", sync_id=sync_id, keys=sorted(i.key for i in items))


def main() -> None:
    if sys.argv[1:] == ["--help"]:
        print(__doc__)
        return
    flags, demo_args = split_args(sys.argv[1:])
    if "--required-domain" in flags and not flags.get("--domain"):
        fail('required flag(s) "domain" not set')
    env = {k: v for k, v in os.environ.items() if k.startswith("BATON_")}
    connector: Any
    try:
        if flags.get("--input"):
            from tests.child.replay import ReplayConnector

            source = Path(flags["--input"])
            if not source.is_file():
                fail(f"input file {source} does not exist")
            connector = ReplayConnector(source)
        else:
            if flags.get("--db-file"):
                database = Path(flags["--db-file"])
                if "--init-db" in flags:
                    database.unlink(missing_ok=True)
                elif not database.exists():
                    fail(f"database {database} does not exist (pass --init-db to create it)")
                demo_args = [*demo_args, "--state-file", str(database)]
            config = resolve_config(demo.FIELDS, demo_args, env, None, cwd=Path.cwd())
            connector = demo.build(config)
        connector.validate()
    except BatonError as error:
        fail(str(error))
    fd_text = os.environ.get("BATON_CONNECTOR_SERVICE_LISTENER_FD", "")
    if not fd_text.isdigit():
        fail("BATON_CONNECTOR_SERVICE_LISTENER_FD is not set")
    listener = socket.socket(fileno=int(fd_text))
    line = sys.stdin.buffer.readline()
    try:
        server_config = connector_wrapper_pb2.ServerConfig.FromString(
            base64.b64decode(line.strip(), validate=True)
        )
    except Exception as error:
        fail(f"cannot read the server config from stdin: {error}")
    port = listener.getsockname()[1]
    if server_config.listen_port != port:
        fail(f"listen port {server_config.listen_port} does not match the passed socket's port {port}")

    work = Path(tempfile.mkdtemp(prefix="standin-"))
    cert, key = pem_files(work, server_config.credential, "server")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=server_config.credential.ca_cert)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["h2"])

    stdin_closed = threading.Event()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    grpc_path = work / "grpc.sock"

    async def serve_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is None or ssl_object.selected_alpn_protocol() != "h2":
            log("warn", "dropping a connection without ALPN h2")
            writer.close()
            return
        inner_reader, inner_writer = await asyncio.open_unix_connection(str(grpc_path))
        await asyncio.gather(pump(reader, inner_writer), pump(inner_reader, writer))

    session = None
    if "--use-session-store" in flags and server_config.session_store_listen_port:
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.load_verify_locations(cadata=server_config.credential.ca_cert)
        client.load_cert_chain(cert, key)  # the child presents its SERVER certificate (§4)
        client.set_alpn_protocols(["h2"])
        session_path = work / "session.sock"
        store_port = server_config.session_store_listen_port

        async def dial_session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            far_reader, far_writer = await asyncio.open_connection(
                "127.0.0.1", store_port, ssl=client, server_hostname="127.0.0.1"
            )
            await asyncio.gather(pump(reader, far_writer), pump(far_reader, writer))

        asyncio.run_coroutine_threadsafe(
            asyncio.start_unix_server(dial_session, str(session_path)), loop
        ).result()
        session = SessionProbe(grpc.insecure_channel(f"unix:{session_path}"))

    limiter_config = (
        server_config.rate_limiter_config if server_config.HasField("rate_limiter_config") else None
    )
    limiter = Limiter(limiter_config, flags.get("--limiter-log", ""))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), interceptors=[CallLog(limiter)])
    ratelimit_pb2_grpc.add_RateLimiterServiceServicer_to_server(limiter, server)
    service = Service(connector, flags, Faults(flags, stdin_closed), session)
    for add in (
        connector_pb2_grpc.add_ConnectorServiceServicer_to_server,
        resource_pb2_grpc.add_ResourceTypesServiceServicer_to_server,
        resource_pb2_grpc.add_ResourcesServiceServicer_to_server,
        resource_pb2_grpc.add_ResourceGetterServiceServicer_to_server,
        resource_pb2_grpc.add_ResourceDeleterServiceServicer_to_server,
        entitlement_pb2_grpc.add_EntitlementsServiceServicer_to_server,
        grant_pb2_grpc.add_GrantsServiceServicer_to_server,
        grant_pb2_grpc.add_GrantManagerServiceServicer_to_server,
        resource_pb2_grpc.add_AccountManagerServiceServicer_to_server,
        resource_pb2_grpc.add_CredentialManagerServiceServicer_to_server,
        resource_pb2_grpc.add_ResourceManagerServiceServicer_to_server,
        ticket_pb2_grpc.add_TicketsServiceServicer_to_server,
        action_pb2_grpc.add_ActionServiceServicer_to_server,
        event_feed_pb2_grpc.add_EventServiceServicer_to_server,
    ):
        add(service, server)
    server.add_insecure_port(f"unix:{grpc_path}")
    if flags.get("--plain-socket"):
        server.add_insecure_port(f"unix:{flags['--plain-socket']}")
    server.start()
    asyncio.run_coroutine_threadsafe(
        asyncio.start_server(serve_tls, sock=listener, ssl=context), loop
    ).result()
    if flags.get("--pid-file"):
        Path(flags["--pid-file"]).write_text(str(os.getpid()))
    log("info", "serving", port=port, args=demo_args)
    # The watchdog: EOF on stdin means the parent is gone or done.
    sys.stdin.buffer.read()
    if "--ignore-stdin-eof" in flags:  # a misbehaving child: only a kill stops it
        threading.Event().wait()
    stdin_closed.set()
    log("info", "stdin closed, exiting")
    server.stop(grace=None)
    os._exit(0)


if __name__ == "__main__":
    main()
