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
COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install -e .
COPY . .
RUN SECRET_KEY=build-only DEBUG=false python manage.py collectstatic --noinput -v0 \
    && SECRET_KEY=build-only python manage.py compilemessages --ignore=.venv -v0 \
    && useradd --create-home relance && mkdir -p /app/var/media && chown -R relance /app/var
USER relance
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
