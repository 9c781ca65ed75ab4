"""What every form's validation hands back, and the characters no field takes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Control characters have no place in a field (NUL is even refused by
# PostgreSQL); text that may span lines keeps its line breaks and tabs.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class Form:
    """What was posted (to show again), the clean values, and a message per
    invalid field, in the order the fields are checked (``form``: the whole)."""

    data: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def first_invalid(self) -> str | None:
        """The field focus goes to when the form comes back with its messages."""
        return next((name for name in self.errors if name != "form"), None)
