"""Screenshots of the backprop explorer (``viz.explore``) for the docs, into docs/images/.

    python docs/make_screenshots.py

Opens explorer pages in headless Chromium at 1280 x 800 and saves

* ``explorer.png``: micrograd's tanh neuron, part way through the backward pass;
* ``explorer_model.png``: the moons MLP(2, [16, 16, 1]) one neuron per box, with the
  training slider of an ``nn.Recorder``.

Needs Graphviz's ``dot``, Selenium (``pip install selenium``), Chromium and its driver
(``apt-get install chromium chromium-driver``; other paths with ``--chromium`` and
``--chromedriver``). Selenium Manager is never used: nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nn
from viz.demo import classic_neuron
from viz.explore import explore

IMAGES = Path(__file__).resolve().parent / "images"
WIDTH, HEIGHT = 1280, 800


def neuron_page(folder: Path) -> Path:
    """micrograd's neuron o = tanh(x1*w1 + x2*w2 + b), as the demo builds it."""
    o, (x1, x2, *_) = classic_neuron()
    return explore(o, inputs=[x1, x2], title="a neuron: o = tanh(x1*w1 + x2*w2 + b)").save(
        folder / "neuron.html"
    )


def moons_page(folder: Path) -> Path:
    """The moons MLP trained 40 steps; a hard sample's graph recorded every 4 steps."""
    X, y = nn.datasets.make_moons(100, noise=0.1, seed=0)
    model = nn.MLP(2, [16, 16, 1], seed=0)
    recorder = nn.Recorder(X[3], y[3], every=4)  # a sample the model keeps missing
    nn.fit(
        model, X, y, loss="hinge", optimizer=nn.SGD(model.parameters(), lr=0.5),
        epochs=40, quiet=True, explore=recorder,
    )  # fmt: skip
    page = explore(
        recorder, collapse="layers.*.neurons.*", title="moons MLP(2, [16, 16, 1]): one sample"
    )
    return page.save(folder / "moons.html")


def browser(chromium: str, chromedriver: str):  # -> selenium WebDriver
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_argument(f"--window-size={WIDTH},{HEIGHT}")
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )
    return driver


def press(driver, key: str, times: int = 1) -> None:
    """Key presses as the page's keyboard handler receives them."""
    driver.execute_script(
        "for (let i = 0; i < arguments[1]; i++) document.body.dispatchEvent("
        "new KeyboardEvent('keydown', {key: arguments[0], bubbles: true}));",
        key,
        times,
    )


def shoot(driver, page: Path, target: Path, setup) -> Path:
    driver.get(page.resolve().as_uri())
    setup(driver)
    time.sleep(0.4)  # let the last frame paint
    driver.save_screenshot(str(target))
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    if errors:
        raise RuntimeError(f"console errors in {page.name}: {errors}")
    return target


def neuron_setup(driver) -> None:
    forward = driver.execute_script(
        "return JSON.parse(document.getElementById('chainrule-data').textContent).forward.length"
    )
    press(driver, "ArrowRight", forward + 3)  # the forward pass, then 3 backward steps
    driver.execute_script(  # show the node just updated in the info panel, as a hover would
        "const g = [...document.querySelectorAll('#graph g.node')]"
        ".find(g => g.querySelector('title').textContent === 'n6');"
        "g.dispatchEvent(new MouseEvent('click', {bubbles: true}));"
    )


def moons_setup(driver) -> None:
    press(driver, "End")
    driver.execute_script(  # the fifth snapshot, as dragging the slider would
        "const s = document.getElementById('training-slider'); s.value = '4';"
        "s.dispatchEvent(new Event('input', {bubbles: true}));"
    )
    driver.execute_script(ZOOM_TO_LAST_LAYERS)


# Zoom (one wheel turn, as a user would) so that the second layer and the output fill the
# drawing's width: the whole model fits too, but its numbers are then too small for a slide.
ZOOM_TO_LAST_LAYERS = """
const data = JSON.parse(document.getElementById('chainrule-data').textContent);
const view = data.views[document.getElementById('view-select').value];
const keep = new Set(['n' + data.root]);
for (const [gid, g] of Object.entries(view.groups))
  if (!g.name.startsWith('layers.0')) keep.add(gid);
let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
for (const g of document.querySelectorAll('#graph .view:not([hidden]) g.node')) {
  if (!keep.has(g.querySelector('title').textContent)) continue;
  const r = g.getBoundingClientRect();
  x0 = Math.min(x0, r.left); y0 = Math.min(y0, r.top);
  x1 = Math.max(x1, r.right); y1 = Math.max(y1, r.bottom);
}
const area = document.getElementById('graph').getBoundingClientRect();
const top = area.top + 56, bottom = area.bottom - 28;
const left = area.left + 12, right = area.right - 12;
const f = Math.min(1.55, (right - left) / (x1 - x0));  // the columns are taller: cut them
const c = [(x0 + x1) / 2, (y0 + y1) / 2], t = [(left + right) / 2, (top + bottom) / 2];
const p = [(t[0] - c[0] * f) / (1 - f), (t[1] - c[1] * f) / (1 - f)];
document.getElementById('graph').dispatchEvent(new WheelEvent('wheel', {
  clientX: p[0], clientY: p[1], deltaY: -Math.log(f) / 0.0015, bubbles: true, cancelable: true}));
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--out", type=Path, default=IMAGES)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pages = [
            (neuron_page(folder), args.out / "explorer.png", neuron_setup),
            (moons_page(folder), args.out / "explorer_model.png", moons_setup),
        ]
        driver = browser(args.chromium, args.chromedriver)
        try:
            for page, target, setup in pages:
                print("wrote", shoot(driver, page, target, setup))
        finally:
            driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
