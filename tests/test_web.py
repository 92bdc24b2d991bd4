import base64
import io
import json
import shutil

import numpy as np
import pytest
from conftest import needs_real_data
from PIL import Image

from digits import config, models, web

pytestmark = needs_real_data


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def mnist_test():
    from digits import data

    _, (x, y) = data.load_mnist()
    return x, y


@pytest.fixture(scope="module")
def small_number_model_path(small_model_path, tmp_path_factory):
    """The small digit model read on each half, saved as a 0-99 model file."""
    import keras

    path = tmp_path_factory.mktemp("small_number_model") / "pairs.keras"
    models.pair_model(keras.saving.load_model(small_model_path)).save(path)
    return path


@pytest.fixture(scope="module")
def client(small_model_path, small_number_model_path):
    app = web.create_app(web.Predictor(small_model_path, small_number_model_path))
    return app.test_client()


def test_multipart_upload_of_a_digit(client, mnist_test):
    x, y = mnist_test
    hits = 0
    for i in range(10):
        reply = client.post(
            "/api/predict",
            data={"image": (io.BytesIO(_png(np.pad(255 - x[i], 20, constant_values=255))), "d.png"), "mode": "digit"},
        )
        assert reply.status_code == 200, reply.json
        body = reply.json
        assert set(body) >= {"label", "confidence", "top3", "preprocessed_png"} and len(body["top3"]) == 3
        assert len(body["probabilities"]) == 10 and abs(sum(body["probabilities"]) - 1) < 1e-3
        assert body["probabilities"][body["label"]] == max(body["probabilities"]) == body["confidence"]
        hits += body["label"] == y[i]
    assert hits >= 9
    seen = Image.open(io.BytesIO(base64.b64decode(body["preprocessed_png"].split(",", 1)[1])))
    assert seen.size == (28, 28)


def test_json_base64_number_mode(client, mnist_test):
    x, y = mnist_test
    pair = np.concatenate([np.pad(x[0], 8), np.zeros((44, 10), np.uint8), np.pad(x[1], 8)], axis=1)
    reply = client.post(
        "/api/predict",
        json={"image": "data:image/png;base64," + base64.b64encode(_png(pair)).decode(), "mode": "number"},
    )
    assert reply.status_code == 200, reply.json
    assert reply.json["label"] == 10 * y[0] + y[1]
    assert len(reply.json["probabilities"]) == 100
    assert len(reply.json["top5"]) == 5 and reply.json["top5"][0]["label"] == reply.json["label"]
    seen = Image.open(io.BytesIO(base64.b64decode(reply.json["preprocessed_png"].split(",", 1)[1])))
    assert seen.size == (56, 28)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"data": "{not json", "content_type": "application/json"}, "malformed JSON"),
        ({"json": {"image": "%%%", "mode": "digit"}}, "base64"),
        ({"json": {"image": base64.b64encode(b"plain text").decode()}}, "not a readable image"),
        ({"json": {"image": base64.b64encode(_png(np.full((40, 40), 255, np.uint8))).decode()}}, "blank"),
        (
            {"json": {"image": base64.b64encode(_png(np.eye(40, dtype=np.uint8) * 255)).decode(), "mode": "letters"}},
            "mode",
        ),
        ({"data": {}}, "multipart field 'image'"),
        ({"data": {"image": (io.BytesIO(b""), "empty.png")}}, "empty"),
        ({"json": {"image": base64.b64encode(_png(np.zeros((10, 5000), np.uint8))).decode()}}, "at most 4096"),
    ],
)
def test_bad_input_is_a_400_with_a_message(client, kwargs, message):
    reply = client.post("/api/predict", **kwargs)
    assert reply.status_code == 400
    assert message in reply.json["error"]


def test_oversized_body_is_refused_and_the_server_keeps_serving(client):
    reply = client.post("/api/predict", data=b"x" * (web.MAX_BODY_BYTES + 1), content_type="application/octet-stream")
    assert reply.status_code == 413 and "MB" in reply.json["error"]
    assert client.get("/healthz").json["status"] == "ok"


def test_the_page_is_served(client):
    page = client.get("/")
    assert page.status_code == 200 and b"<canvas" in page.data


@pytest.fixture(scope="module")
def live_server(small_model_path, small_number_model_path):
    with web.running(web.create_app(web.Predictor(small_model_path, small_number_model_path))) as url:
        yield url


def test_bounded_load_on_loopback(live_server, mnist_test):
    x, _ = mnist_test
    stats = web.load_test(live_server, _png(x[0]), requests=500, concurrency=8)
    assert stats["errors"] == 0 and stats["requests"] == 500
    assert 0 < stats["p50_ms"] <= stats["p95_ms"]
    out = config.reports_dir() / "web_load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(stats, indent=1))


CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"
)
def test_drawing_a_one_in_a_real_browser(live_server):
    from selenium import webdriver
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=900,700",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        driver.get(live_server)
        assert not driver.find_element(By.ID, "seen-box").is_displayed()  # no empty image before a prediction
        pad = driver.find_element(By.ID, "pad")
        stroke = ActionChains(driver).move_to_element_with_offset(pad, 5, -90).click_and_hold()
        for _ in range(18):
            stroke = stroke.move_by_offset(-1, 10)
        stroke.release().perform()  # no button: the page predicts once the pen rests
        label = WebDriverWait(driver, 30).until(
            lambda d: (d.find_element(By.ID, "label").text or "–") != "–" and d.find_element(By.ID, "label").text
        )
        assert label == "1"
        # read the bars in one script call: a later reply may redraw them between two WebDriver calls
        digits = driver.execute_script(
            "return [...document.querySelectorAll('#probabilities .bar b')].map(b => b.textContent)"
        )
        assert digits == [str(d) for d in range(10)]
        assert driver.find_element(By.ID, "seen").get_property("naturalWidth") == 28
        shot = config.PROJ_ROOT / "reports" / "figures" / "web_demo" / "draw_one.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 1_000
    finally:
        driver.quit()
