"""The demo's actions: one that succeeds, one that always fails, one that runs long.

``greet`` answers at once; ``fail`` reports BATON_ACTION_STATUS_FAILED with its
``reason``; ``export`` starts RUNNING and completes after ``steps`` status
checks (default 3), each check moving it one step on. Progress is kept in the
state file, so any process asking about the action id sees the same status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import struct_pb2

from baton_cli.connector.demo.state import DemoState
from baton_cli.connector.demo.world import DemoWorld
from baton_cli.connector.services import ActionSchema, ActionStatusResponse, InvokeActionResponse
from baton_cli.errors import NotFoundError, UsageError
from baton_cli.pb.c1.config.v1 import config_pb2
from baton_cli.pb.c1.connector.v2 import action_pb2

DEFAULT_STEPS = 3
MAX_STEPS = 100


def _string(name: str, description: str, *, required: bool = False) -> config_pb2.Field:
    return config_pb2.Field(
        name=name, description=description, is_required=required, string_field=config_pb2.StringField()
    )


def _schemas() -> list[ActionSchema]:
    dynamic = [action_pb2.ACTION_TYPE_DYNAMIC]
    return [
        ActionSchema(
            name="greet",
            display_name="Greet",
            description="Says hello to someone",
            arguments=[_string("name", "who to greet", required=True)],
            return_types=[_string("greeting", "the greeting")],
            action_type=dynamic,
        ),
        ActionSchema(
            name="fail",
            display_name="Fail",
            description="Always fails, with the reason given",
            arguments=[_string("reason", "the error to report")],
            action_type=dynamic,
        ),
        ActionSchema(
            name="export",
            display_name="Export users",
            description="A long-running export: poll its status until it completes",
            arguments=[
                config_pb2.Field(
                    name="steps",
                    description=f"status checks before it completes (1..{MAX_STEPS})",
                    int_field=config_pb2.IntField(default_value=DEFAULT_STEPS),
                )
            ],
            return_types=[
                config_pb2.Field(
                    name="exported", description="users exported", int_field=config_pb2.IntField()
                )
            ],
            action_type=dynamic,
            resource_type_id="user",
        ),
    ]


SCHEMAS = {schema.name: schema for schema in _schemas()}


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(dict(values))
    return result


class DemoActions:
    """The ActionManager half of the demo connector."""

    _world: DemoWorld

    def list_action_schemas(self, resource_type_id: str) -> Sequence[ActionSchema]:
        return [s for s in SCHEMAS.values() if not resource_type_id or s.resource_type_id == resource_type_id]

    def get_action_schema(self, name: str) -> ActionSchema:
        schema = SCHEMAS.get(name)
        if schema is None:
            raise NotFoundError(f"demo: no action {name!r} (known: {', '.join(SCHEMAS)})")
        return schema

    def invoke_action(
        self, name: str, args: Mapping[str, Any], resource_type_id: str
    ) -> InvokeActionResponse:
        self.get_action_schema(name)
        if name == "greet":
            who = args.get("name")
            if not isinstance(who, str) or not who:
                raise UsageError("demo: greet needs a 'name' argument")
            return InvokeActionResponse(
                name=name,
                status=action_pb2.BATON_ACTION_STATUS_COMPLETE,
                response=_struct({"greeting": f"Hello, {who}!"}),
            )
        if name == "fail":
            reason = str(args.get("reason") or "demo: the fail action always fails")
            return InvokeActionResponse(
                name=name, status=action_pb2.BATON_ACTION_STATUS_FAILED, response=_struct({"error": reason})
            )
        steps = _steps(args.get("steps", DEFAULT_STEPS))

        def start(state: DemoState) -> str:
            action_id = f"act{len(state.actions) + 1:06d}"
            state.actions[action_id] = {"name": name, "steps": steps, "polls": 0}
            return action_id

        action_id = self._world.store.update(start)
        return InvokeActionResponse(id=action_id, name=name, status=action_pb2.BATON_ACTION_STATUS_RUNNING)

    def action_status(self, action_id: str) -> ActionStatusResponse:
        def poll(state: DemoState) -> dict[str, Any]:
            record = state.actions.get(action_id)
            if record is None:
                raise NotFoundError(f"demo: no action with id {action_id!r}")
            record["polls"] = min(int(record["polls"]) + 1, int(record["steps"]))
            return dict(record)

        record = self._world.store.update(poll)
        response = ActionStatusResponse(id=action_id, name=str(record["name"]))
        if record["polls"] >= record["steps"]:
            response.status = action_pb2.BATON_ACTION_STATUS_COMPLETE
            response.response.CopyFrom(_struct({"exported": self._world.sizes.users}))
        else:
            response.status = action_pb2.BATON_ACTION_STATUS_RUNNING
            response.response.CopyFrom(_struct({"progress": f"{record['polls']}/{record['steps']}"}))
        return response


def _steps(value: object) -> int:
    # JSON numbers arrive as floats (google.protobuf.Struct has no integers).
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise UsageError(f"demo: export 'steps' must be a whole number, got {value!r}")
    steps = int(value)
    if not 1 <= steps <= MAX_STEPS:
        raise UsageError(f"demo: export 'steps' must be 1..{MAX_STEPS}, got {steps}")
    return steps
