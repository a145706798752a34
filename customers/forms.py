"""Forms of the customers app: the user's own preferences."""

from __future__ import annotations

from django import forms

from customers.models import UserPreferences


class PreferencesForm(forms.ModelForm):
    """The user's own settings (today: the interface language)."""

    class Meta:
        model = UserPreferences
        fields = ["language"]
        widgets = {"language": forms.RadioSelect}
