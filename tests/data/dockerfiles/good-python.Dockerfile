# syntax=docker/dockerfile:1
# The classic Flask app, done right: a pinned slim base, dependencies installed before
# the source is copied (so editing app.py reuses the pip layer), no pip cache, a non-root
# user, the port documented and an exec-form CMD that gets SIGTERM.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

RUN useradd --create-home --uid 10001 app
USER 10001

EXPOSE 80
CMD ["gunicorn", "--bind", "0.0.0.0:80", "--workers", "2", "app:app"]
