"""Web demo: draw or upload a digit or a number of any length and see it read, or declined.

    python -m digits serve [--port 8000]        (or: make demo PORT=8000)

``POST /api/predict`` takes the image as multipart field ``image`` or as JSON
``{"image": "<base64 PNG or data URL>", "mode": "digit"|"number"}`` and answers with the reading of
``digits.reader`` (as ``python -m digits predict [--number] --json`` prints it): ``{"label", "reason",
"confidence", "digits", "preprocessed_png"}``; ``label`` is null when the image is declined (``reason``:
"blank" or "not a digit"). In digit mode ``label`` is the digit as a number, with ``top3``, ``top5`` and the ten
``probabilities``; in number mode it is the digit string ("02134"). Served by waitress, a production WSGI
server, on loopback, with the shipped model and its decline rule.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from flask import Flask, jsonify, request
from PIL import Image
from waitress import serve as waitress_serve
from waitress.server import create_server
from werkzeug.exceptions import HTTPException

from . import config, data, evaluate, files, preprocess, reader, shipped
from .session import environment

MAX_BODY_BYTES = 2 * 1024 * 1024
MODES = ("digit", "number")
STATIC = Path(__file__).parent / "static"


class BadRequest(ValueError):
    """Input the client must fix: answered with HTTP 400 and the message."""


class Predictor:
    """Loads the digit model and its decline rule once; thread-safe reading of one image."""

    def __init__(self, digit_model_path: Path | None = None):
        self.paths = {"digit": digit_model_path}  # None: the shipped model
        self._reader: reader.Reader | None = None
        self._lock = threading.Lock()

    def reader(self) -> reader.Reader:
        with self._lock:
            if self._reader is None:
                self._reader = reader.Reader.shipped(self.paths["digit"])
            return self._reader

    def predict(self, image_bytes: bytes, mode: str) -> dict:
        if mode not in MODES:
            raise BadRequest(f"mode must be one of {list(MODES)}, got {mode!r}")
        read = self.reader()
        try:
            with self._lock:  # one reading at a time: Keras models are not re-entrant
                reading = read.read(image_bytes, number=mode == "number")
        except preprocess.ImageError as err:
            raise BadRequest(str(err)) from err
        result = reading.as_dict()
        if reading.framed is not None:
            result["preprocessed_png"] = png_data_url(np.concatenate(list(reading.framed), axis=1))
        if mode == "digit" and reading.digits:  # one digit: every class's probability, as before
            proba = reading.proba[0]
            result |= evaluate.top_k(proba, 5) | evaluate.top_k(proba)
            result |= {"label": None if reading.label is None else int(reading.label), "confidence": reading.confidence}
            result["probabilities"] = [round(float(p), 4) for p in proba]
        return result


def png_data_url(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _decode_base64_image(value) -> bytes:
    if not isinstance(value, str) or not value:
        raise BadRequest("JSON field 'image' must be a base64 PNG string (or a data URL)")
    if value.startswith("data:"):
        value = value.split(",", 1)[-1]
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise BadRequest(f"JSON field 'image' is not valid base64 ({err})") from err


def _read_request() -> tuple[bytes, str]:
    if request.is_json or (request.mimetype or "").endswith("json"):
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            raise BadRequest('malformed JSON: expected an object {"image": ..., "mode": ...}')
        return _decode_base64_image(payload.get("image")), payload.get("mode", "digit")
    upload = request.files.get("image")
    if upload is None:
        raise BadRequest("send the image as multipart field 'image' or as JSON {\"image\": base64 PNG}")
    return upload.read(), request.form.get("mode", "digit")


def create_app(predictor: Predictor | None = None) -> Flask:
    """The Flask app; pass a Predictor to use other model files."""
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    predictor = predictor or Predictor()

    @app.get("/")
    def index():
        return app.send_static_file("index.html")

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", models={m: str(p) for m, p in predictor.paths.items()})

    @app.post("/api/predict")
    def predict():
        started = time.perf_counter()
        image, mode = _read_request()
        result = predictor.predict(image, mode)
        return jsonify(result | {"mode": mode, "ms": round(1000 * (time.perf_counter() - started), 1)})

    @app.errorhandler(BadRequest)
    def bad_request(err):
        return jsonify(error=str(err)), 400

    @app.errorhandler(413)
    def too_large(err):
        return jsonify(error=f"request body over {MAX_BODY_BYTES // 2**20} MB"), 413

    @app.errorhandler(FileNotFoundError)
    def no_model(err):
        return jsonify(error=str(err)), 503

    @app.errorhandler(Exception)
    def unexpected(err):  # never crash the server on a request
        if isinstance(err, HTTPException):
            return jsonify(error=err.description), err.code
        app.logger.exception("unexpected error")
        return jsonify(error=f"internal error: {type(err).__name__}"), 500

    return app


THREADS = 8  # waitress worker threads; inference itself runs one at a time (Predictor's lock)


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the demo on ``host:port`` (loopback by default) with waitress."""
    print(f"digits demo on http://{host}:{port}/  (Ctrl-C to stop)")
    waitress_serve(create_app(), host=host, port=port, threads=THREADS)


@contextmanager
def running(app: Flask) -> Iterator[str]:
    """Serve ``app`` with waitress on a free loopback port while the block runs; yields its URL."""
    server = create_server(app, host="127.0.0.1", port=0, threads=THREADS)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()


def load_test(url: str, png: bytes, requests: int = 500, concurrency: int = 8, mode: str = "digit") -> dict:
    """POST ``png`` to ``url``/api/predict ``requests`` times, ``concurrency`` at a time; latency in ms."""
    body = json.dumps({"image": base64.b64encode(png).decode(), "mode": mode}).encode()

    def one(_):
        req = urllib.request.Request(f"{url}/api/predict", data=body, headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                ok = response.status == 200 and "label" in json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            ok = False
        return ok, 1000 * (time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(requests)))
    latencies = np.array([ms for _, ms in results])
    return {
        "requests": requests,
        "concurrency": concurrency,
        "errors": sum(not ok for ok, _ in results),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "requests_per_second": round(requests / (time.perf_counter() - started), 1),
    }


def record_load_test(requests: int = 500, concurrency: int = 8) -> dict:
    """Serve the shipped models on a free loopback port, run :func:`load_test` with a real MNIST test
    digit, and write the figures to ``reports/web_load.json``."""
    _, (x_test, _) = data.load_mnist()
    buffer = io.BytesIO()
    Image.fromarray(x_test[0]).save(buffer, format="PNG")
    with running(create_app()) as url:
        stats = load_test(url, buffer.getvalue(), requests, concurrency)
    model = str(shipped.SHIPPED["mnist10"].relative_to(config.PROJ_ROOT))
    stats |= {"server": f"waitress, {THREADS} threads", "model": model, "environment": environment()}
    files.write_json(config.reports_dir() / "web_load.json", stats)
    return stats


if __name__ == "__main__":
    print(record_load_test())
