"""The web application's forms: Flask-WTF (CSRF on every form) with the
GOV.UK Frontend WTForms widgets."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput
from wtforms import RadioField, SelectChoice, SubmitField
from wtforms.validators import InputRequired

from . import people


class SignInForm(FlaskForm):
    person = RadioField(
        "Who are you signing in as?",
        choices=[SelectChoice(p.user, p.name) for p in people.PEOPLE],
        validators=[InputRequired(message="Select who you are signing in as")],
        widget=GovRadioInput(),
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())
