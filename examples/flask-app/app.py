"""The classic Docker example: a tiny Flask app that says hello on port 80."""

import os
import socket

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    name = os.getenv("NAME", "world")
    return f"<h3>Hello {name}!</h3><b>Hostname:</b> {socket.gethostname()}<br/>\n"


@app.route("/healthz")
def healthz() -> str:
    return "ok\n"


if __name__ == "__main__":
    # For a quick local try without Docker: python app.py → http://localhost:8000
    app.run(host="127.0.0.1", port=8000)
