"""Flask-WTF forms of the console's own pages (sign-in, accounts, settings).

Pages that mirror an API endpoint may parse with the API's marshmallow schema instead;
either way the CSRF token is checked for every POST before the view runs.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from advocacy.console.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class SwitchWorkspaceForm(FlaskForm):
    workspace_id = IntegerField("Workspace", validators=[DataRequired()])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters; a few words make a good one.",
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )


class NewAccountForm(NewPasswordForm):
    name = StringField("Your name", validators=[Length(max=200)])


class ExistingAccountForm(FlaskForm):
    """Joining a workspace with an account one already has: its password proves it."""

    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of labelled checkboxes (a fieldset in the template)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


ROLE_CHOICES = {
    "viewer": "Viewer: read and export",
    "reviewer": "Reviewer: the review queue",
    "manager": "Manager: campaigns and enrollment",
    "owner": "Owner: everything, staff and keys",
}


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    role = SelectField("Role", choices=ROLE_CHOICES)


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class WorkspaceSettingsForm(FlaskForm):
    time_zone = SelectField(
        "Time zone", description="Dates and KPI days in the console are in this zone."
    )
    brand_name = StringField(
        "Brand name",
        validators=[Length(max=200)],
        description="Shown on invitation pages; empty: the workspace name.",
    )
    brand_colour = StringField(
        "Brand colour",
        validators=[Optional(), Regexp(r"^#[0-9a-fA-F]{6}$", message="A colour as #rrggbb.")],
        description="As #rrggbb, e.g. #1d4ed8; used on invitation pages.",
    )


class DomainsForm(FlaskForm):
    domains = TextAreaField(
        "Allowed domains",
        validators=[Length(max=30000)],
        description="One per line. 'shop.example' allows that host; '*.shop.example' its "
        "subdomains.",
    )


class ApiKeyForm(FlaskForm):
    name = StringField("Key name", validators=[DataRequired(), Length(max=200)])
    scopes = CheckboxesField("Scopes", validators=[DataRequired()])


class WebhookForm(FlaskForm):
    url = URLField("Endpoint URL", validators=[DataRequired(), Length(max=2000)])
    event_types = CheckboxesField(
        "Events", description="None ticked: every event type.", validate_choice=True
    )
    description = StringField("Description", validators=[Length(max=200)])
