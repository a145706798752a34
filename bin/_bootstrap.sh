# Sourced by bin/demo and bin/test: finds Python >= 3.12, makes .venv, installs the project.
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
    local stamp="$VENV/.relance-installed" want
    want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)-${1:-runtime}"
    if [ ! -f "$stamp" ] || ! grep -qx "$want" "$stamp"; then
        echo "==> Installing Python packages into .venv"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        if [ "${1:-runtime}" = dev ]; then
            "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
        else
            "$VENV/bin/python" -m pip install --quiet -e .
        fi
        echo "$want" > "$stamp"
    fi
}

# System packages: WeasyPrint's Pango and HarfBuzz subsetting, fonts, gettext for the
# translations, poppler for PDF checks, Chromium for the browser tests.
APT_PACKAGES_RUNTIME=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext)
APT_PACKAGES_TEST=(poppler-utils chromium chromium-driver)

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
