"""``flask staff add|list|invite|remove|reset``: bootstrap and operate staff accounts."""

from __future__ import annotations

import re

from tests.console.conftest import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def test_staff_add_reads_the_password_from_stdin_and_the_owner_signs_in(cli, console, workspace):
    result = cli(
        "staff",
        "add",
        "Boss@Acme.example",
        "--workspace",
        str(workspace.id),
        "--role",
        "owner",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "boss@acme.example is owner" in result.output
    assert PASSWORD not in result.output
    assert console.sign_in_as("boss@acme.example").status_code == 302
    assert "(owner)" in console.get("/").get_data(as_text=True)


def test_staff_add_refuses_a_short_password(cli, workspace):
    result = cli(
        "staff",
        "add",
        "a@acme.example",
        "--workspace",
        str(workspace.id),
        "--role",
        "viewer",
        "--password-stdin",
        input="short\n",
    )
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output


def test_staff_add_refuses_an_unknown_workspace(cli):
    result = cli(
        "staff",
        "add",
        "a@acme.example",
        "--workspace",
        "999999",
        "--role",
        "viewer",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 1
    assert "No workspace 999999" in result.output


def test_staff_list_shows_the_workspace_staff(cli, console, workspace):
    console.add_staff("manager")
    result = cli("staff", "list", "--workspace", str(workspace.id))
    assert result.exit_code == 0
    assert re.search(r"manager-\d+@staff\.example\tmanager", result.output)


def test_staff_invite_prints_a_link_that_works_once(cli, console, workspace):
    result = cli(
        "staff", "invite", "new@acme.example", "--workspace", str(workspace.id), "--role", "viewer"
    )
    assert result.exit_code == 0, result.output
    path = re.search(r"https?://[^/\s]+(/invitations/\S+)", result.output).group(1)
    page = console.get(path)
    assert page.status_code == 200


def test_staff_remove_takes_a_person_out_of_the_workspace(cli, console, workspace):
    member = console.sign_in("viewer")
    result = cli("staff", "remove", member.email, "--workspace", str(workspace.id))
    assert result.exit_code == 0, result.output
    assert console.get("/").status_code in (302, 403)  # signed out, or no workspace any more


def test_staff_remove_keeps_the_last_owner(cli, console, workspace):
    owner = console.add_staff("owner")
    result = cli("staff", "remove", owner.email, "--workspace", str(workspace.id))
    assert result.exit_code == 1
    assert "at least one owner" in result.output


def test_staff_reset_prints_a_reset_link(cli, console):
    member = console.add_staff("viewer")
    result = cli("staff", "reset", member.email)
    assert result.exit_code == 0, result.output
    path = re.search(r"https?://[^/\s]+(/reset/\S+)", result.output).group(1)
    assert console.get(path).status_code == 200


def test_staff_reset_of_an_unknown_person_fails(cli):
    result = cli("staff", "reset", "nobody@acme.example")
    assert result.exit_code == 1
    assert "No staff member" in result.output


def test_demo_owner_is_for_development_only(cli):
    result = cli("staff", "demo-owner")
    assert result.exit_code == 1
    assert "development only" in result.output


def test_demo_owner_prints_a_password_that_signs_in(cli, console, app, workspace):
    app.config["ADVOCACY_ENV"] = "development"
    try:
        result = cli("staff", "demo-owner", "--workspace-name", workspace.name)
    finally:
        app.config["ADVOCACY_ENV"] = "test"
    assert result.exit_code == 0, result.output
    password = re.search(r"with the password (\S+)", result.output).group(1)
    assert console.sign_in_as("owner@demo.example", password).status_code == 302
