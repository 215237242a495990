# syntax=docker/dockerfile:1
# Build stage: compilers and headers for mysqlclient and argon2 live here only.
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential pkg-config libmariadb-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt requirements-mysql.txt ./
RUN python -m venv /venv \
    && /venv/bin/pip install --no-cache-dir --upgrade pip \
    && /venv/bin/pip install --no-cache-dir -r requirements.txt -r requirements-mysql.txt

# Run stage: the virtual environment, the client library and the code.
FROM python:3.11-slim-bookworm AS run
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system mithrapay \
    && useradd --system --gid mithrapay --home-dir /app --shell /usr/sbin/nologin mithrapay
ENV PATH="/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=mithrapay:mithrapay . .
# collectstatic loads the production settings but touches no secret or
# service: the values below exist only for this build step.
RUN ENV_FILE=/dev/null SECRET_KEY=build-only-collectstatic-key \
    JWT_SECRET=build-only-collectstatic-jwt ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 REDIS_URL=redis://build.invalid:6379/0 \
    CODE_ENCRYPTION_KEYS=YnVpbGQtb25seS1jb2xsZWN0c3RhdGljLWtleS0wMDA= \
    CODE_DIGEST_KEY=build-only-collectstatic-digest \
    python manage.py collectstatic --no-input -v0
USER mithrapay
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD curl --fail --silent http://127.0.0.1:8000/health/ready || exit 1
CMD ["gunicorn", "mithrapay.wsgi:application", "--config", "deploy/gunicorn.conf.py"]
