"""Flag names and limits of `baton emulator enqueue`, apart from the builders.

Kept free of protobuf and c1z imports so the CLI can declare its options without
loading the task builders until a command actually runs.
"""

from __future__ import annotations

from typing import Final

RESOURCE_TYPE_FLAG: Final = "--resource-type"
RESOURCE_FLAG: Final = "--resource"
STORAGE_ENGINE_FLAG: Final = "--storage-engine"
ENTITLEMENT_FLAG: Final = "--entitlement"
PRINCIPAL_FLAG: Final = "--principal"
DURATION_FLAG: Final = "--duration"
GRANT_ID_FLAG: Final = "--grant-id"
LOGIN_FLAG: Final = "--login"
EMAIL_FLAG: Final = "--email"
PROFILE_FLAG: Final = "--profile"
PARENT_FLAG: Final = "--parent"
PASSWORD_FLAG: Final = "--password"
PASSWORD_LENGTH_FLAG: Final = "--password-length"
AGE_RECIPIENT_FLAG: Final = "--age-recipient"

STORAGE_ENGINES: Final = ("pebble", "sqlite")  # SyncFullTask.storage_engine's allowed values
PASSWORD_CHOICES: Final = ("none", "random", "sso")
# CredentialOptions.RandomPassword.length must be within 8..64 (wire.md validation rules).
MIN_PASSWORD_LENGTH: Final = 8
MAX_PASSWORD_LENGTH: Final = 64
DEFAULT_PASSWORD_LENGTH: Final = 16

# The ticket, action, event and credential kinds (service_task_builders.py).
DISPLAY_NAME_FLAG: Final = "--display-name"
RESOURCE_JSON_FLAG: Final = "--resource-json"
IDENTITY_FLAG: Final = "--identity"
CREDENTIAL_KIND_FLAG: Final = "--kind"
SCOPE_FLAG: Final = "--scope"
EXPIRES_AT_FLAG: Final = "--expires-at"
TICKET_JSON_FLAG: Final = "--ticket-json"
TICKET_TEMPLATE_FLAG: Final = "--template"
SCHEMA_ID_FLAG: Final = "--schema-id"
TICKET_ID_FLAG: Final = "--ticket-id"
ACTION_NAME_FLAG: Final = "--name"
ARGS_FLAG: Final = "--args"
ACTION_ID_FLAG: Final = "--id"
FEED_ID_FLAG: Final = "--feed-id"
START_AT_FLAG: Final = "--start-at"
CURSOR_FLAG: Final = "--cursor"
PAGE_SIZE_FLAG: Final = "--page-size"
ANNOTATION_JSON_FLAG: Final = "--annotation-json"
CREDENTIAL_KINDS: Final = ("api_key", "token", "client_secret", "keypair")
MAX_EVENTS_PAGE_SIZE: Final = 1000  # ListEventsRequest.page_size: lte 1000
