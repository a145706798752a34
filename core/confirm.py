"""Warnings a person may override, once: a service refuses with a *confirmation* error
(code ``"confirm"``) unless it was called with ``confirmed=True``; a form shows the
warnings with a checkbox, and the second submission, ticked, goes through.

Nothing is accepted silently: the first submission writes nothing, and the service that
is told ``confirmed=True`` records what was overridden where the domain says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CONFIRM = "confirm"


def confirmation_needed(messages: Iterable[str]) -> ValidationError:
    """The error a service raises for warnings that a person may confirm."""
    return ValidationError([ValidationError(m, code=CONFIRM) for m in messages])


def asks_confirmation(error: ValidationError) -> bool:
    """Whether every message of ``error`` is a warning that a confirmation overrides."""
    if not hasattr(error, "error_list"):
        return False
    return all(e.code == CONFIRM for e in error.error_list)


def raise_unless_confirmed(warnings: list[str], *, confirmed: bool) -> None:
    """Refuse with ``warnings`` (a confirmation error) unless they were confirmed."""
    if warnings and not confirmed:
        raise confirmation_needed(warnings)


class ConfirmableForm(forms.Form):
    """A form with a ``confirm`` checkbox that only shows once a warning asks for it (it
    is a hidden ``False`` until then, so it cannot be ticked in advance by accident)."""

    confirm = forms.BooleanField(
        label=_("I have read the warnings above and confirm."), required=False
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        ticked = self.is_bound and self.data.get(self.add_prefix("confirm")) in ("on", "true")
        if not ticked:
            self.fields["confirm"].widget = forms.HiddenInput()
        self.asking_confirmation = ticked

    def ask_confirmation(self, error: ValidationError) -> None:
        """Show ``error``'s warnings above the form and the checkbox to confirm them."""
        self.add_error(None, error)
        self.asking_confirmation = True
        field = self.fields["confirm"]
        field.widget = forms.CheckboxInput()
        # The box starts unticked: a person ticks it after reading the warnings.
        data = self.data.copy()  # type: ignore[attr-defined]
        data.pop(self.add_prefix("confirm"), None)
        self.data = data

    @property
    def confirmed(self) -> bool:
        return bool(self.cleaned_data.get("confirm"))
