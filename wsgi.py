"""WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

from advocacy import create_app

app = create_app()
