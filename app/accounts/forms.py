"""What the sign-up and sign-in forms accept. A password is never echoed back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.forms import CONTROL, Form
from app.models import EMAIL_MAX, NAME_MAX

PASSWORD_MIN = 10
PASSWORD_MAX = 1024  # Argon2 takes any length; a bound keeps a post small
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountForm(Form):
    """Name, email and password; ``data`` never holds the password."""


def validate(posted: Mapping[str, Any], *, signing_up: bool) -> AccountForm:
    text = {name: str(posted.get(name, "")) for name in ("name", "email", "password")}
    # Shown again: the name and email typed, and where to go once signed in.
    shown = {"name": text["name"], "email": text["email"], "next": str(posted.get("next", ""))}
    form = AccountForm(data=shown)
    if signing_up:
        name = text["name"].strip()
        if not name:
            form.errors["name"] = "Enter your name."
        elif len(name) > NAME_MAX or CONTROL.search(name):
            form.errors["name"] = (
                f"A name is at most {NAME_MAX} characters, with no control characters."
            )
        else:
            form.values["name"] = name
    email = text["email"].strip().lower()
    if not _EMAIL.match(email) or len(email) > EMAIL_MAX:
        form.errors["email"] = "Enter an email address, like ada@example.com."
    else:
        form.values["email"] = email
    password = text["password"]
    if signing_up and not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        form.errors["password"] = f"Choose a password of at least {PASSWORD_MIN} characters."
    elif not password or len(password) > PASSWORD_MAX:
        form.errors["password"] = "Enter your password."
    else:
        form.values["password"] = password
    return form
