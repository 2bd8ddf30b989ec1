"""The two Kafka admin requests aiokafka lacks: SCRAM credentials (AlterUserScramCredentials) and ACLs
(CreateAcls, DeleteAcls), on aiokafka's own protocol classes, so provisioning needs no JVM.

Field layouts are Kafka's (clients/src/main/resources/common/message/*.json), flexible versions only.
"""

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

log = logging.getLogger(__name__)
RESOURCE = {"topic": 2, "group": 3, "cluster": 4}
PATTERN = {"literal": 3, "prefixed": 4}
OPERATION = {"read": 3, "write": 4, "create": 5, "delete": 6, "describe": 8}
ANY, ALLOW = 1, 3
SCRAM_SHA_512, ITERATIONS = 2, 4096


@dataclass(frozen=True, order=True)
class Acl:
    """One allow rule: `principal` may do `operation` on the `resource` named (or prefixed) `name`."""

    principal: str
    resource: str  # topic, group, cluster
    name: str
    operation: str  # read, write, create, delete, describe
    pattern: str = "literal"  # or prefixed


ACL_FIELDS = (
    ("resource_type", Int8),
    ("resource_name", CompactString("utf-8")),
    ("pattern_type", Int8),
    ("principal", CompactString("utf-8")),
    ("host", CompactString("utf-8")),
    ("operation", Int8),
    ("permission_type", Int8),
)


def _wire(acl: Acl) -> tuple[Any, ...]:
    kind = RESOURCE[acl.resource]
    name = "kafka-cluster" if acl.resource == "cluster" else acl.name
    return kind, name, PATTERN[acl.pattern], f"User:{acl.principal}", "*", OPERATION[acl.operation], ALLOW, {}


class _Response(Response):
    API_KEY = -1
    API_VERSION = -1


class CreateAclsResponse_v3(_Response):
    API_KEY, API_VERSION = 30, 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(("error_code", Int16), ("error_message", CompactString("utf-8")), ("tags", TaggedFields)),
        ),
        ("tags", TaggedFields),
    )


class CreateAclsRequest_v3(RequestStruct):
    API_KEY, API_VERSION, FLEXIBLE_VERSION = 30, 3, True
    RESPONSE_TYPE = CreateAclsResponse_v3
    SCHEMA = Schema(("creations", CompactArray(*ACL_FIELDS, ("tags", TaggedFields))), ("tags", TaggedFields))


class CreateAcls(Request[CreateAclsRequest_v3]):
    API_KEY = 30

    def __init__(self, acls: Sequence[Acl]) -> None:
        self.acls = acls

    def build(self, request_struct_class: type[CreateAclsRequest_v3]) -> CreateAclsRequest_v3:
        return request_struct_class([_wire(acl) for acl in self.acls], {})


class DeleteAclsResponse_v3(_Response):
    API_KEY, API_VERSION = 31, 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "filter_results",
            CompactArray(
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                (
                    "matching_acls",
                    CompactArray(
                        ("error_code", Int16),
                        ("error_message", CompactString("utf-8")),
                        *ACL_FIELDS,
                        ("tags", TaggedFields),
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class DeleteAclsRequest_v3(RequestStruct):
    API_KEY, API_VERSION, FLEXIBLE_VERSION = 31, 3, True
    RESPONSE_TYPE = DeleteAclsResponse_v3
    SCHEMA = Schema(("filters", CompactArray(*ACL_FIELDS, ("tags", TaggedFields))), ("tags", TaggedFields))


class DeleteAcls(Request[DeleteAclsRequest_v3]):
    """Delete exactly these rules (each filter matches one rule)."""

    API_KEY = 31

    def __init__(self, acls: Sequence[Acl]) -> None:
        self.acls = acls

    def build(self, request_struct_class: type[DeleteAclsRequest_v3]) -> DeleteAclsRequest_v3:
        return request_struct_class([_wire(acl) for acl in self.acls], {})


class DescribeAclsResponse_v3(_Response):
    API_KEY, API_VERSION = 29, 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("error_message", CompactString("utf-8")),
        (
            "resources",
            CompactArray(
                ("resource_type", Int8),
                ("resource_name", CompactString("utf-8")),
                ("pattern_type", Int8),
                (
                    "acls",
                    CompactArray(
                        ("principal", CompactString("utf-8")),
                        ("host", CompactString("utf-8")),
                        ("operation", Int8),
                        ("permission_type", Int8),
                        ("tags", TaggedFields),
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class DescribeAclsRequest_v3(RequestStruct):
    API_KEY, API_VERSION, FLEXIBLE_VERSION = 29, 3, True
    RESPONSE_TYPE = DescribeAclsResponse_v3
    SCHEMA = Schema(*ACL_FIELDS, ("tags", TaggedFields))


class DescribeAcls(Request[DescribeAclsRequest_v3]):
    """Every rule the broker answering enforces right now."""

    API_KEY = 29

    def build(self, request_struct_class: type[DescribeAclsRequest_v3]) -> DescribeAclsRequest_v3:
        return request_struct_class(ANY, None, ANY, None, None, ANY, ANY, {})


class AlterScramResponse_v0(_Response):
    API_KEY, API_VERSION = 51, 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterScramRequest_v0(RequestStruct):
    API_KEY, API_VERSION, FLEXIBLE_VERSION = 51, 0, True
    RESPONSE_TYPE = AlterScramResponse_v0
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields))),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterScram(Request[AlterScramRequest_v0]):
    API_KEY = 51

    def __init__(self, users: dict[str, str], secret: str) -> None:
        self.users, self.secret = users, secret

    def build(self, request_struct_class: type[AlterScramRequest_v0]) -> AlterScramRequest_v0:
        upsertions: list[tuple[Any, ...]] = []
        for name, password in sorted(self.users.items()):
            # A salt derived from the secret: provisioning the same user twice writes the same
            # credential, so a client authenticating meanwhile is never refused.
            salt = hmac.new(self.secret.encode(), f"salt:{name}".encode(), hashlib.sha256).digest()
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
            upsertions.append((name, SCRAM_SHA_512, ITERATIONS, salt, salted, {}))
        return request_struct_class([], upsertions, {})


def _raise_errors(errors: list[tuple[int, str | None]], what: str) -> None:
    if failed := [(code, message) for code, message in errors if code]:
        code, message = failed[0]
        raise for_code(code)(f"{what}: {message} ({len(failed)} failed)")


async def _send(admin: AIOKafkaAdminClient, request: Request[Any]) -> Any:
    return await admin._send_request(request)  # noqa: SLF001 - aiokafka's way to send any request


async def upsert_scram_users(admin: AIOKafkaAdminClient, users: dict[str, str], secret: str) -> None:
    """Create or update SCRAM-SHA-512 credentials (user -> password)."""
    response = await _send(admin, AlterScram(users, secret))
    _raise_errors([(code, message) for _, code, message, _ in response.results], "AlterUserScramCredentials")


async def create_acls(admin: AIOKafkaAdminClient, acls: Sequence[Acl]) -> None:
    """Add allow rules (adding one that exists changes nothing)."""
    if acls:
        response = await _send(admin, CreateAcls(acls))
        _raise_errors([(code, message) for code, message, _ in response.results], "CreateAcls")


async def enforced(admin: AIOKafkaAdminClient) -> set[tuple[Any, ...]]:
    """The rules the broker answering enforces now, as `_wire` gives them without the tags."""
    response = await _send(admin, DescribeAcls())
    _raise_errors([(response.error_code, response.error_message)], "DescribeAcls")
    return {
        (kind, name, pattern, principal, host, operation, permission)
        for kind, name, pattern, rules, _ in response.resources
        for principal, host, operation, permission, _ in rules
    }


async def wait_enforced(admin: AIOKafkaAdminClient, acls: Sequence[Acl], timeout: float = 30) -> None:
    """Wait until the broker enforces every rule of `acls` (it applies new rules a moment after they are made)."""
    wanted = {_wire(acl)[:-1] for acl in acls}
    async with asyncio.timeout(timeout):
        while missing := wanted - await enforced(admin):
            log.debug("waiting for %d ACLs to reach the broker", len(missing))
            await asyncio.sleep(0.1)


async def delete_acls(admin: AIOKafkaAdminClient, acls: Sequence[Acl]) -> None:
    """Remove exactly these allow rules."""
    if acls:
        response = await _send(admin, DeleteAcls(acls))
        _raise_errors([(code, message) for code, message, _, _ in response.filter_results], "DeleteAcls")
