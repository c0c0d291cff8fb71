"""``flask workspaces`` and ``flask keys``: run through Flask's CLI runner on the test database."""

from __future__ import annotations

import re

from advocacy.workspaces import service
from tests.factories import ApiClient

KEY = re.compile(r"API key \(shown once, store it now\): (adv_\S+)")


def _secret(output):
    (secret,) = KEY.findall(output)
    return secret


def _workspace_id(output):
    return int(re.search(r"workspace (\d+)", output).group(1))


def test_workspaces_create_prints_the_id_and_an_admin_key_once(cli):
    result = cli("workspaces", "create", "Acme Shoes")

    assert result.exit_code == 0, result.output
    assert "'Acme Shoes' created" in result.output
    assert result.output.count("adv_") == 1


def test_workspace_key_from_cli_works_on_the_api(cli, client):
    result = cli("workspaces", "create", "Acme Shoes")
    admin = ApiClient(client, _secret(result.output))

    assert admin.put("/api/v1/customers/ann", json={}).status_code == 200
    assert admin.get("/api/v1/customers/ann").status_code == 200


def test_workspaces_create_refuses_a_blank_name(cli):
    result = cli("workspaces", "create", "   ")

    assert result.exit_code == 1
    assert "needs a name" in result.output


def test_workspaces_create_refuses_an_overlong_name(cli):
    result = cli("workspaces", "create", "x" * 201)

    assert result.exit_code == 1
    assert "200" in result.output


def test_workspaces_list_shows_created_workspaces(cli):
    workspace_id = _workspace_id(cli("workspaces", "create", "Acme Shoes").output)

    result = cli("workspaces", "list")

    assert result.exit_code == 0
    assert f"{workspace_id}\tAcme Shoes\t" in result.output


def test_keys_create_with_read_scope_can_read_but_not_write(cli, client):
    workspace_id = _workspace_id(cli("workspaces", "create", "Acme").output)

    result = cli("keys", "create", "--workspace", str(workspace_id), "--scope", "read")

    assert result.exit_code == 0, result.output
    assert f"(read) for workspace {workspace_id}" in result.output
    reader = ApiClient(client, _secret(result.output))
    assert reader.get("/api/v1/customers").status_code == 200
    assert reader.put("/api/v1/customers/ann", json={}).status_code == 403


def test_keys_create_with_several_scopes(cli):
    workspace_id = _workspace_id(cli("workspaces", "create", "Acme").output)

    result = cli(
        "keys", "create", "--workspace", str(workspace_id), "--scope", "write", "--scope", "read"
    )

    assert "(read, write)" in result.output


def test_keys_create_for_unknown_workspace_fails(cli):
    result = cli("keys", "create", "--workspace", "999999", "--scope", "read")

    assert result.exit_code == 1
    assert "No workspace 999999" in result.output
    assert "adv_" not in result.output


def test_keys_create_refuses_unknown_scope(cli):
    workspace_id = _workspace_id(cli("workspaces", "create", "Acme").output)

    result = cli("keys", "create", "--workspace", str(workspace_id), "--scope", "root")

    assert result.exit_code == 2
    assert "adv_" not in result.output


def test_keys_create_refuses_an_overlong_name(cli):
    workspace_id = _workspace_id(cli("workspaces", "create", "Acme").output)

    result = cli(
        "keys", "create", "--workspace", str(workspace_id), "--scope", "read", "--name", "k" * 201
    )

    assert result.exit_code == 1
    assert "200" in result.output
    assert "adv_" not in result.output


def test_keys_create_needs_a_scope(cli):
    workspace_id = _workspace_id(cli("workspaces", "create", "Acme").output)

    result = cli("keys", "create", "--workspace", str(workspace_id))

    assert result.exit_code == 2


def test_keys_list_shows_keys_but_never_secrets_or_hashes(cli, session):
    created = cli("workspaces", "create", "Acme").output
    workspace_id = _workspace_id(created)
    reader = cli("keys", "create", "--workspace", str(workspace_id), "--scope", "read").output
    secrets = [_secret(created), _secret(reader)]

    result = cli("keys", "list", "--workspace", str(workspace_id))

    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert [line.split("\t")[3] for line in lines] == ["admin", "read"]
    assert all(line.endswith("active") for line in lines)
    for secret in secrets:
        assert secret not in result.output
        assert service.hash_key(secret) not in result.output
        assert secret[:12] + "…" in result.output  # the prefix, to tell keys apart


def test_keys_list_filters_by_workspace(cli):
    first = _workspace_id(cli("workspaces", "create", "One").output)
    second = _workspace_id(cli("workspaces", "create", "Two").output)

    result = cli("keys", "list", "--workspace", str(second))

    assert {int(line.split("\t")[1]) for line in result.output.strip().splitlines()} == {second}
    assert first != second


def test_keys_revoke_makes_the_key_401(cli, client):
    created = cli("workspaces", "create", "Acme").output
    workspace_id = _workspace_id(created)
    issued = cli("keys", "create", "--workspace", str(workspace_id), "--scope", "read").output
    key_id = re.search(r"key (\d+) \(", issued).group(1)
    reader = ApiClient(client, _secret(issued))
    assert reader.get("/api/v1/customers").status_code == 200

    result = cli("keys", "revoke", key_id)

    assert result.exit_code == 0
    assert f"key {key_id} revoked" in result.output
    assert reader.get("/api/v1/customers").status_code == 401
    assert ApiClient(client, _secret(created)).get("/api/v1/customers").status_code == 200


def test_revoked_key_is_listed_as_revoked(cli):
    workspace_id = _workspace_id(cli("workspaces", "create", "Acme").output)
    issued = cli("keys", "create", "--workspace", str(workspace_id), "--scope", "read").output
    key_id = re.search(r"key (\d+) \(", issued).group(1)
    cli("keys", "revoke", key_id)

    listing = cli("keys", "list", "--workspace", str(workspace_id)).output

    (line,) = [line for line in listing.splitlines() if line.startswith(f"{key_id}\t")]
    assert "\trevoked " in line


def test_revoking_twice_is_harmless(cli):
    workspace_id = _workspace_id(cli("workspaces", "create", "Acme").output)
    issued = cli("keys", "create", "--workspace", str(workspace_id), "--scope", "read").output
    key_id = re.search(r"key (\d+) \(", issued).group(1)
    cli("keys", "revoke", key_id)

    assert cli("keys", "revoke", key_id).exit_code == 0


def test_keys_revoke_unknown_key_fails(cli):
    result = cli("keys", "revoke", "999999")

    assert result.exit_code == 1
    assert "No API key 999999" in result.output
