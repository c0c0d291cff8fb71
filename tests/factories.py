"""Small helpers to build test data through the real services and the real API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from advocacy.workspaces import service


@dataclass
class WorkspaceHandle:
    id: int
    name: str
    admin_key: str

    def key(self, session: Any, *scopes: str) -> str:
        issued = service.create_api_key(
            session, workspace_id=self.id, name="test", scopes=list(scopes)
        )
        session.commit()
        return issued.secret


def make_workspace(session: Any, name: str) -> WorkspaceHandle:
    workspace = service.create_workspace(session, name=name)
    issued = service.create_api_key(
        session, workspace_id=workspace.id, name="admin", scopes=["admin"]
    )
    session.commit()
    return WorkspaceHandle(workspace.id, workspace.name, issued.secret)


class ApiClient:
    """The Flask test client with a bearer key on every call."""

    def __init__(self, client: FlaskClient, key: str) -> None:
        self.client = client
        self.key = key

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", **(extra or {})}

    def get(self, url: str, **kw: Any) -> TestResponse:
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, **kw: Any) -> TestResponse:
        return self.client.post(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, url: str, **kw: Any) -> TestResponse:
        return self.client.put(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url: str, **kw: Any) -> TestResponse:
        return self.client.patch(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url: str, **kw: Any) -> TestResponse:
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


def customer(external_id: str, **fields: Any) -> dict[str, Any]:
    body = {"email": f"{external_id}@example.com", "first_name": external_id.title()}
    body.update(fields)
    return body


def put_customers(api: ApiClient, *external_ids: str) -> None:
    for external_id in external_ids:
        response = api.put(f"/api/v1/customers/{external_id}", json=customer(external_id))
        assert response.status_code == 200, response.json
