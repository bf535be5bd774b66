"""RFC 9457 problem details: the one shape of every Touchstone error response.

Both services answer every 4xx and 5xx with this document under ``application/problem+json``. A problem
never carries the offending input: validation errors name the field (``loc``), the rule (``type``) and a
message, because the rejected value may be clinical data.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:touchstone:problem:"
REQUEST_INSTANCE_PREFIX = "urn:touchstone:request:"
# RFC 9457 section 4.2: a problem with no more specific type; its title is the HTTP status phrase.
ABOUT_BLANK = "about:blank"

ProblemSlug = Literal[
    "validation",
    "unauthorized",
    "forbidden",
    "not-found",
    "conflict",
    "precondition-failed",
    "precondition-required",
    "payload-too-large",
    "unsupported-media-type",
    "method-not-allowed",
    "gone",
    "too-many-requests",
    "service-unavailable",
    "internal",
]
PROBLEM_SLUGS: frozenset[str] = frozenset(get_args(ProblemSlug))


def problem_type(slug: ProblemSlug) -> str:
    """The type URI of a Touchstone problem, e.g. ``urn:touchstone:problem:not-found``."""
    if slug not in PROBLEM_SLUGS:
        raise ValueError(f"unknown problem slug {slug!r}")
    return PROBLEM_TYPE_PREFIX + slug


def request_instance(request_id: str) -> str:
    """The ``instance`` of a problem: the request it answers, so operators can find its log lines."""
    return REQUEST_INSTANCE_PREFIX + request_id


class ProblemError(BaseModel):
    """One failed validation rule. Deliberately has no field for the rejected input."""

    model_config = ConfigDict(frozen=True)

    loc: list[str | int] = Field(
        description="Where the error is: the request part, then field names and list indexes.",
        examples=[["body", "goals", 0, "target_date"]],
    )
    msg: str = Field(description="What is wrong, in words.", examples=["Field required"])
    type: str = Field(description="The machine-readable rule that failed.", examples=["missing"])


class Problem(BaseModel):
    """An RFC 9457 problem details document."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:touchstone:problem:not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "No episode with this id.",
                    "instance": "urn:touchstone:request:01923c4e-7b1a-7cc2-9a52-3f1c2b9e8d10",
                }
            ]
        },
    )

    type: str = Field(
        description="A URI naming the kind of problem: urn:touchstone:problem:<slug>, or about:blank.",
        examples=["urn:touchstone:problem:validation"],
    )
    title: str = Field(description="A short summary of the kind of problem; the same for every occurrence.")
    status: int = Field(ge=400, le=599, description="The HTTP status code of this response.")
    detail: str = Field(description="What went wrong in this occurrence. Never contains clinical data.")
    instance: str = Field(
        description="The request this answers: urn:touchstone:request:<request id> (also in X-Request-ID).",
    )
    errors: list[ProblemError] | None = Field(
        default=None, description="For validation problems: every field that failed, and why."
    )
