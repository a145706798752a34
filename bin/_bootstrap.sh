# Sourced by bin/demo and bin/test: finds Python >= 3.12, makes .venv, installs the project
# and its packages exactly as uv.lock pins them.
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
MIN_MINOR=12

py_ok() {  # is "$1" a Python >= 3.12?
    "$1" -c "import sys; sys.exit(0 if sys.version_info >= (3, $MIN_MINOR) else 1)" >/dev/null 2>&1
}

find_python() {
    local candidates=()
    [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
    candidates+=(python3.14 python3.13 python3.12)
    local root
    for root in "${PYENV_ROOT:-$HOME/.pyenv}/versions" /usr/local/opt /opt/python; do
        [ -d "$root" ] || continue
        # Newest first: 3.14, 3.13, 3.12 installs managed by pyenv or similar.
        while IFS= read -r p; do candidates+=("$p"); done < <(ls -d "$root"/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV)
    done
    candidates+=(/usr/bin/python3 /usr/local/bin/python3 python3)
    local c
    for c in "${candidates[@]}"; do
        if command -v "$c" >/dev/null 2>&1 && py_ok "$(command -v "$c")"; then
            command -v "$c"; return 0
        fi
    done
    return 1
}

ensure_venv() {
    if [ -x "$VENV/bin/python" ] && ! py_ok "$VENV/bin/python"; then
        echo "==> $VENV uses a Python older than 3.$MIN_MINOR: recreating it"
        rm -rf "$VENV"
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        local py
        if ! py="$(find_python)"; then
            echo "ERROR: Relance needs Python 3.$MIN_MINOR or newer (Django 6), and none was found." >&2
            echo "       Install one (e.g. 'pyenv install 3.13' or 'apt-get install python3.13')," >&2
            echo "       or point PYTHON=/path/to/python3.13 at it, then run this command again." >&2
            exit 2
        fi
        echo "==> Creating .venv with $py ($("$py" --version))"
        "$py" -m venv "$VENV"
    fi
    install_locked "${1:-runtime}"
}

# The Python packages come from uv.lock, never from pyproject.toml's ranges: uv (the version
# pinned by [tool.uv] required-version, installed with pip into .venv) syncs .venv to the lock,
# with the project itself installed in editable mode. "runtime" installs the application's
# packages and leaves anything else in place; "dev" adds the [dev] extra and removes whatever
# the lock does not list. A stamp keyed on the lock's hash makes it a no-op until the lock
# changes.
install_locked() {
    local mode="$1" stamp="$VENV/.relance-installed" lock_hash
    lock_hash="$(sha256sum uv.lock | cut -d' ' -f1)"
    if [ -f "$stamp" ] && { grep -qx "$lock_hash dev" "$stamp" || grep -qx "$lock_hash $mode" "$stamp"; }; then
        return 0
    fi
    local uv_version
    uv_version="$("$VENV/bin/python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["tool"]["uv"]["required-version"].removeprefix("=="))')"
    if [ "$("$VENV/bin/python" -m uv --version 2>/dev/null | cut -d' ' -f2)" != "$uv_version" ]; then
        echo "==> Installing uv $uv_version into .venv"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$uv_version"
    fi
    echo "==> Installing Python packages into .venv from uv.lock ($mode)"
    local args=(sync --locked --quiet)
    if [ "$mode" = dev ]; then args+=(--extra dev); else args+=(--inexact); fi
    # --locked: a pyproject.toml changed without 'uv lock' is an error, not a silent resolve.
    UV_PROJECT_ENVIRONMENT="$VENV" UV_PYTHON_DOWNLOADS=never \
        "$VENV/bin/python" -m uv "${args[@]}" --python "$VENV/bin/python"
    echo "$lock_hash $mode" > "$stamp"
}

# System packages: WeasyPrint's Pango and HarfBuzz subsetting, fonts, gettext for the
# translations, poppler for PDF checks, zbar to decode the payment QR codes, Chromium for
# the browser tests.
APT_PACKAGES_RUNTIME=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext)
APT_PACKAGES_TEST=(poppler-utils zbar-tools)
APT_PACKAGES_BROWSER=(chromium chromium-driver)

ensure_apt() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "WARNING: missing system packages (${missing[*]}); install them with your package manager." >&2
        return 0
    fi
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "==> Installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
