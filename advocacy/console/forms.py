"""Flask-WTF forms of the console's own pages (sign-in, accounts, settings).

Pages that mirror an API endpoint may parse with the API's marshmallow schema instead;
either way the CSRF token is checked for every POST before the view runs.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from advocacy.console.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class SwitchWorkspaceForm(FlaskForm):
    workspace_id = IntegerField("Workspace", validators=[DataRequired()])


class NewPasswordForm(FlaskForm):
    name = StringField("Your name", validators=[Length(max=200)])
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters; a few words make a good one.",
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    role = StringField("Role", validators=[DataRequired()])
