"""The HTTP API, served by gunicorn (app.web:app).

GET  /items        the items, newest first
POST /items        create one: {"name": "..."} -> 201 and the item
GET  /whoami       the replica that answered (its hostname) and its release (APP_RELEASE)
GET  /healthz      200 when the database answers, else 503
Every response names its replica in the X-Served-By header.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import psycopg
from flask import Flask, Response, jsonify, request
from psycopg.rows import dict_row

from app.settings import database_settings

MAX_NAME = 200
HOSTNAME = socket.gethostname()
RELEASE = os.environ.get("APP_RELEASE", "")  # which version answered, during a rolling update

app = Flask(__name__)
app.json.sort_keys = False  # type: ignore[attr-defined]


def connect() -> psycopg.Connection[dict[str, Any]]:
    # One short connection per request keeps the example simple; a pool is the next step.
    return psycopg.connect(**database_settings().conninfo(), row_factory=dict_row)  # type: ignore[arg-type]


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "created_at": row["created_at"].isoformat()}


@app.after_request
def served_by(response: Response) -> Response:
    response.headers["X-Served-By"] = HOSTNAME
    response.headers["Cache-Control"] = "no-store"
    return response


@app.get("/items")
def list_items() -> Any:
    with connect() as conn:
        rows = conn.execute("SELECT id, name, created_at FROM items ORDER BY id DESC LIMIT 500").fetchall()
    return jsonify(items=[as_json(r) for r in rows], served_by=HOSTNAME)


@app.post("/items")
def create_item() -> Any:
    body = request.get_json(silent=True)
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        return jsonify(error='send JSON {"name": "..."} with a non-empty name'), 400
    name = name.strip()
    if len(name) > MAX_NAME:
        return jsonify(error=f"name is longer than {MAX_NAME} characters"), 400
    with connect() as conn:
        row = conn.execute("INSERT INTO items (name) VALUES (%s) RETURNING id, name, created_at", (name,)).fetchone()
    assert row is not None
    return jsonify(item=as_json(row), served_by=HOSTNAME), 201


@app.get("/whoami")
def whoami() -> Any:
    return jsonify(hostname=HOSTNAME, release=RELEASE)


@app.get("/healthz")
def healthz() -> Any:
    try:
        with connect() as conn:
            conn.execute("SELECT 1 FROM items LIMIT 1")
    except psycopg.Error as e:
        return jsonify(status="unavailable", error=str(e).strip()), 503
    return jsonify(status="ok", hostname=HOSTNAME, release=RELEASE)


@app.errorhandler(psycopg.OperationalError)
def database_down(error: psycopg.OperationalError) -> Any:
    return jsonify(error="the database is unavailable", detail=str(error).strip()), 503
