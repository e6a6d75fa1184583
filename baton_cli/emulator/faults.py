"""Injected faults for reliability tests: per method, at a rate, from a seeded random source.

A rule names a method (a BatonService method name, ``token`` for the token endpoint, or ``*``)
and exactly one fault:

``error``            end the call with this gRPC status (UNAVAILABLE, RESOURCE_EXHAUSTED, ...);
                     on ``token`` it becomes the matching HTTP status (503, 429, 401, 500)
``retry_after``      with RESOURCE_EXHAUSTED: the RetryInfo delay in seconds (default 1)
``latency``          seconds added before the call is handled
``cut_after_bytes``  drop the connection once this many request bytes arrived (or at the end
                     of a shorter request): the client sees a broken stream, nothing is stored
``expire_token``     revoke every access token issued so far, before authenticating the call
``cancel_task``      request cancellation of the call's task_id before handling the call
``lose_answer``      handle the call (its effect is recorded), then end it UNAVAILABLE as if the
                     answer had been lost on the way back

plus ``rate`` (0..1, default 1) and ``limit`` (fire at most N times). In a file (YAML or JSON)::

    seed: 7
    faults:
      - {method: GetTask, error: UNAVAILABLE, rate: 0.3}
      - {method: UploadAsset, cut_after_bytes: 100000, limit: 1}

On the command line, ``--fault METHOD:KIND[=VALUE][@RATE]`` with KIND one of a status name
(``unavailable``, ``resource-exhausted[=DELAY]``, ...), ``latency=SECONDS``, ``cut=BYTES``,
``expire-token``, ``cancel`` or ``lose-answer``; e.g. ``--fault GetTask:unavailable@0.5``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from baton_cli.errors import StatusCode, UsageError

ANY_METHOD = "*"
TOKEN_METHOD = "token"
_KINDS = ("error", "latency", "cut_after_bytes", "expire_token", "cancel_task", "lose_answer")


@dataclass(frozen=True, slots=True)
class FaultRule:
    method: str
    error: StatusCode | None = None
    retry_after: float = 1.0
    latency: float = 0.0
    cut_after_bytes: int | None = None
    expire_token: bool = False
    cancel_task: bool = False
    lose_answer: bool = False
    rate: float = 1.0
    limit: int | None = None

    def describe(self) -> str:
        if self.error is not None:
            what = self.error.name
        elif self.latency:
            what = f"latency {self.latency:g}s"
        elif self.cut_after_bytes is not None:
            what = f"cut after {self.cut_after_bytes} bytes"
        elif self.lose_answer:
            what = "lose answer"
        else:
            what = "expire token" if self.expire_token else "cancel task"
        return f"{self.method}: {what} @ {self.rate:g}"


@dataclass(slots=True)
class FaultDecision:
    """What fired for one call; empty when nothing did."""

    latency: float = 0.0
    error: FaultRule | None = None
    cut_after_bytes: int | None = None
    expire_token: bool = False
    cancel_task: bool = False
    lose_answer: bool = False
    fired: list[str] = field(default_factory=list)


class FaultPlan:
    """Decides, call by call, which rules fire. Thread-safe; ``fired`` counts for the live view."""

    def __init__(self, rules: Iterable[FaultRule] = (), *, seed: int | None = None) -> None:
        self.rules = tuple(rules)
        self.seed = seed
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._fired = [0] * len(self.rules)

    def decide(self, method: str) -> FaultDecision:
        decision = FaultDecision()
        with self._lock:
            for index, rule in enumerate(self.rules):
                if rule.method not in (method, ANY_METHOD):
                    continue
                if rule.method == ANY_METHOD and method == TOKEN_METHOD and not rule.latency:
                    continue  # "*" means every RPC; only latency also slows the token endpoint
                if rule.limit is not None and self._fired[index] >= rule.limit:
                    continue
                # A call ends one way only: once an error or a cut is chosen, later rules of the
                # same kind are not drawn, so they neither fire nor spend their limit.
                if (rule.error is not None and decision.error is not None) or (
                    rule.cut_after_bytes is not None and decision.cut_after_bytes is not None
                ):
                    continue
                if self._random.random() >= rule.rate:
                    continue
                self._fired[index] += 1
                decision.fired.append(rule.describe())
                decision.latency += rule.latency
                decision.expire_token |= rule.expire_token
                decision.cancel_task |= rule.cancel_task
                decision.lose_answer |= rule.lose_answer
                if rule.error is not None:
                    decision.error = rule
                if rule.cut_after_bytes is not None:
                    decision.cut_after_bytes = rule.cut_after_bytes
        return decision

    def fired_counts(self) -> list[tuple[str, int]]:
        with self._lock:
            return [(rule.describe(), n) for rule, n in zip(self.rules, self._fired, strict=True)]


def _status(name: str) -> StatusCode:
    key = name.strip().upper().replace("-", "_")
    if key not in StatusCode.__members__ or key == "OK":
        raise UsageError(f"unknown gRPC status {name!r} in fault")
    return StatusCode[key]


def _number(value: object, what: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UsageError(f"fault {what} must be a number")
    try:
        number = float(value)
    except ValueError as exc:
        raise UsageError(f"fault {what} must be a number, got {value!r}") from exc
    if number < minimum:
        raise UsageError(f"fault {what} must be at least {minimum:g}")
    return number


def rule_from_mapping(entry: Mapping[str, Any]) -> FaultRule:
    unknown = set(entry) - {"method", "rate", "limit", "retry_after", *_KINDS}
    if unknown:
        raise UsageError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    kinds = [k for k in _KINDS if entry.get(k) not in (None, False)]
    if len(kinds) != 1:
        raise UsageError(f"a fault needs exactly one of {', '.join(_KINDS)}; got {kinds or 'none'}")
    method = str(entry.get("method", ANY_METHOD))
    rate = _number(entry.get("rate", 1.0), "rate")
    if rate > 1:
        raise UsageError("fault rate must be between 0 and 1")
    limit = entry.get("limit")
    rule = FaultRule(
        method=method,
        rate=rate,
        limit=None if limit is None else int(_number(limit, "limit")),
        retry_after=_number(entry.get("retry_after", 1.0), "retry_after"),
    )
    kind = kinds[0]
    value = entry[kind]
    if kind == "error":
        return replace(rule, error=_status(str(value)))
    if kind == "latency":
        return replace(rule, latency=_number(value, "latency"))
    if kind == "cut_after_bytes":
        return replace(rule, cut_after_bytes=int(_number(value, "cut_after_bytes")))
    if value is not True:
        raise UsageError(f"fault {kind} must be true")
    if kind == "lose_answer":
        return replace(rule, lose_answer=True)
    return replace(rule, expire_token=True) if kind == "expire_token" else replace(rule, cancel_task=True)


def load_fault_file(path: Path) -> FaultPlan:
    """Read YAML or JSON (JSON is YAML) faults; unknown fields are errors, not silently ignored."""
    import yaml  # only `--faults FILE` needs the YAML parser

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read faults file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"faults file {path} is not valid YAML/JSON: {exc}") from exc
    if raw is None:
        return FaultPlan()
    if isinstance(raw, list):
        raw = {"faults": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("faults", []), list):
        raise UsageError(f"faults file {path}: expected a mapping with a 'faults' list")
    unknown = set(raw) - {"seed", "faults"}
    if unknown:
        raise UsageError(f"faults file {path}: unknown field(s) {', '.join(sorted(unknown))}")
    entries = raw.get("faults", [])
    if not all(isinstance(e, dict) for e in entries):
        raise UsageError(f"faults file {path}: each fault must be a mapping")
    seed = raw.get("seed")
    return FaultPlan(
        [rule_from_mapping(e) for e in entries], seed=None if seed is None else int(_number(seed, "seed"))
    )


def parse_fault_flag(text: str) -> FaultRule:
    """``METHOD:KIND[=VALUE][@RATE]``, e.g. ``GetTask:unavailable@0.5`` or ``*:latency=0.2``."""
    method, colon, spec = text.partition(":")
    if not colon or not method or not spec:
        raise UsageError(f"invalid --fault {text!r}: expected METHOD:KIND[=VALUE][@RATE]")
    spec, _, rate = spec.partition("@")
    kind, _, value = spec.partition("=")
    kind = kind.strip().lower()
    entry: dict[str, Any] = {"method": method}
    if rate:
        entry["rate"] = rate
    if kind == "latency":
        entry["latency"] = value or "0"
    elif kind == "cut":
        entry["cut_after_bytes"] = value or "0"
    elif kind == "expire-token":
        entry["expire_token"] = True
    elif kind == "cancel":
        entry["cancel_task"] = True
    elif kind == "lose-answer":
        entry["lose_answer"] = True
    else:
        entry["error"] = kind
        if value:
            entry["retry_after"] = value
    return rule_from_mapping(entry)


def build_plan(path: Path | None, flags: Iterable[str], seed: int | None) -> FaultPlan:
    """Rules from the file, then from the flags; an explicit seed wins over the file's."""
    plan = load_fault_file(path) if path is not None else FaultPlan()
    rules = [*plan.rules, *(parse_fault_flag(f) for f in flags)]
    return FaultPlan(rules, seed=seed if seed is not None else plan.seed)
