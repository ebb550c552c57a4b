"""The caseworker web application (see app.py)."""
