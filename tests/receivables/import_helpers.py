"""What the import tests share: writing a CSV fixture and calling a command."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def write_csv(tmp_path, lines, *, header: str, name: str, bom: bool = False, sep: str = ","):
    text = "\n".join([header.replace(",", sep), *lines]) + "\n"
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def run_command(command: str, path, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_command_failing(command: str, path, *args) -> tuple[CommandError, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command(command, str(path), *args, stdout=out, stderr=err)
    assert "nothing was imported" in str(info.value)
    return info.value, err.getvalue()
