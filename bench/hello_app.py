"""The baseline of bench/plans_api.py: a bare Flask app with one route,
served by gunicorn with the same settings as the plans service
(``gunicorn --pythonpath bench hello_app:app``)."""

from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello():
    return {"hello": "world"}
