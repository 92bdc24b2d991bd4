import base64
import io
import json
import shutil

import numpy as np
import pytest
from conftest import needs_real_data
from PIL import Image

from digits import config, web

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
def client():
    return web.create_app(web.Predictor()).test_client()  # the shipped model and its decline rule


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
        assert set(body) >= {"label", "reason", "confidence", "top3", "digits", "preprocessed_png"}
        assert len(body["top3"]) == 3 and body["reason"] is None
        assert len(body["probabilities"]) == 10 and abs(sum(body["probabilities"]) - 1) < 1e-3
        assert body["probabilities"][body["label"]] == max(body["probabilities"]) == body["confidence"]
        hits += body["label"] == y[i]
    assert hits >= 9
    seen = Image.open(io.BytesIO(base64.b64decode(body["preprocessed_png"].split(",", 1)[1])))
    assert seen.size == (28, 28)


def test_json_base64_number_mode_reads_a_number_of_any_length(client, mnist_test):
    x, y = mnist_test
    gap = np.zeros((44, 10), np.uint8)
    number = np.concatenate([np.pad(x[0], 8), gap, np.pad(x[1], 8), gap, np.pad(x[2], 8)], axis=1)
    reply = client.post(
        "/api/predict",
        json={"image": "data:image/png;base64," + base64.b64encode(_png(255 - number)).decode(), "mode": "number"},
    )
    assert reply.status_code == 200, reply.json
    assert reply.json["label"] == f"{y[0]}{y[1]}{y[2]}" and reply.json["reason"] is None
    assert [d["digit"] for d in reply.json["digits"]] == list(y[:3])
    seen = Image.open(io.BytesIO(base64.b64decode(reply.json["preprocessed_png"].split(",", 1)[1])))
    assert seen.size == (84, 28)


def test_a_blank_page_is_declined_not_refused(client):
    for mode in ("digit", "number"):
        image = base64.b64encode(_png(np.full((40, 40), 255, np.uint8))).decode()
        reply = client.post("/api/predict", json={"image": image, "mode": mode})
        assert reply.status_code == 200 and (reply.json["label"], reply.json["reason"]) == (None, "blank")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"data": "{not json", "content_type": "application/json"}, "malformed JSON"),
        ({"json": {"image": "%%%", "mode": "digit"}}, "base64"),
        ({"json": {"image": base64.b64encode(b"plain text").decode()}}, "not a readable image"),
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
def live_server():
    with web.running(web.create_app(web.Predictor())) as url:
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
def test_drawing_a_digit_a_number_and_a_letter_in_a_real_browser(live_server):
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
        "--window-size=1000,800",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))

    def draw(strokes):
        """Pen strokes in the pad's own pixels (x, y), whatever size the page shows it at."""
        pad = driver.find_element(By.ID, "pad")
        width, height, shown = pad.get_property("width"), pad.get_property("height"), pad.rect["width"]
        scale = shown / width
        for points in strokes:
            at = [((x - width / 2) * scale, (y - height / 2) * scale) for x, y in points]
            chain = (
                ActionChains(driver).move_to_element_with_offset(pad, round(at[0][0]), round(at[0][1])).click_and_hold()
            )
            for (x0, y0), (x1, y1) in zip(at, at[1:], strict=False):
                for k in range(1, 9):  # small steps: the page draws a line per pointer move
                    chain = chain.move_to_element_with_offset(
                        pad, round(x0 + (x1 - x0) * k / 8), round(y0 + (y1 - y0) * k / 8)
                    )
            chain.release().perform()

    def reading(previous="–"):
        label = driver.find_element(By.ID, "label")
        return WebDriverWait(driver, 30).until(lambda d: label.text not in ("–", previous) and label.text)

    try:
        driver.get(live_server)
        assert not driver.find_element(By.ID, "seen-box").is_displayed()  # no empty image before a prediction
        draw([[(150, 50), (135, 230)]])  # a one; no button: the page reads once the pen rests
        assert reading() == "1"
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

        driver.find_element(By.ID, "clear").click()
        draw([[(60, 50), (220, 230)], [(220, 50), (60, 230)]])  # a capital X: not a digit
        declined = reading("1")
        assert declined.startswith("not a digit"), declined

        driver.find_element(By.CSS_SELECTOR, "input[name=mode][value=number]").click()
        assert driver.find_element(By.ID, "pad").get_property("width") == 840
        draw([[(150, 50), (135, 230)]])  # 1
        draw([[(300, 60), (420, 60), (340, 230)]])  # 7
        draw([[(560, 50), (545, 230)]])  # 1
        assert reading() == "171"
        assert driver.find_element(By.ID, "seen").get_property("naturalWidth") == 3 * 28
        driver.save_screenshot(str(shot.with_name("draw_number.png")))
    finally:
        driver.quit()
