"""Schemathesis against the OpenAPI spec, as an operator and as a family: no 5xx anywhere."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import Api

EXAMPLES_PER_OPERATION = 10


def test_no_route_answers_5xx(api: Api):
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case) -> None:
            for role in ("operator", "family"):
                response = case.call(headers=api.headers(role))
                if response.status_code >= 500:
                    failures.append(f"{role}: {case.method} {case.formatted_path} "
                                    f"-> {response.status_code}: {response.text[:200]}")

        exercise()
    assert operations >= 30
    assert not failures, "\n".join(failures[:20])
