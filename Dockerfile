# Relance: one image for the web server and the django-q2 worker.
FROM python:3.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# WeasyPrint needs Pango and HarfBuzz's subsetting library; DejaVu fonts for the letters;
# gettext compiles the translations.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       libharfbuzz-subset0 fonts-dejavu-core gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The Python packages exactly as uv.lock pins them (no dev tools), in /opt/venv, with the uv
# that pyproject.toml's [tool.uv] required-version names. The packages first, for the cache;
# then the project itself (editable, as bin/demo and bin/test install it).
ENV UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1 \
    UV_LINK_MODE=copy PATH=/opt/venv/bin:$PATH
COPY pyproject.toml uv.lock README.md ./
RUN pip install "uv==$(python -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["tool"]["uv"]["required-version"].removeprefix("=="))')" \
    && uv sync --locked --no-install-project --python /usr/local/bin/python
COPY . .
RUN uv sync --locked --python /usr/local/bin/python
# A throwaway key: these two commands need settings, not a secret.
RUN export SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    && DEBUG=false python manage.py collectstatic --noinput -v0 \
    && python manage.py compilemessages --ignore=.venv -v0 \
    && useradd --create-home relance && mkdir -p /app/var/media /app/var/private && chown -R relance /app/var
USER relance
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
