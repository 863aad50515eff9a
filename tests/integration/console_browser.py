"""What the console's Selenium tests share: Debian's Chromium, headless, with
chromedriver (browser); numbered screenshots kept as test artifacts under
<build dir>/test-artifacts/<name>/ (Shots; the docs' pictures in docs/img/
are taken from there); bounded waits that say what the page showed when they
fail (wait); the console's own translations (page_text); logging in through
the form (login); zaulekd serving the page from this source tree
(console_daemon) and simulated cameras added and recording (add_recording).
Every wait is bounded; nothing here sleeps as synchronisation."""
import os
import re
from pathlib import Path

import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from camera_helpers import add_camera, wait_log
from zaulekd_fixture import SOURCE_DIR, wait_until

CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 15
BUILD = Path(os.environ.get("ZAULEK_BUILD_DIR", "/tmp"))


def browser(tmp_path, size=(1920, 1080), downloads=None):
    """A fresh headless Chromium with its own profile under tmp_path (the
    wall monitor's 1920x1080 unless told); downloads go to `downloads`."""
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--window-size={size[0]},{size[1]}",
                "--autoplay-policy=no-user-gesture-required", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        opts.add_argument(arg)
    if downloads is not None:
        opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                               "download.prompt_for_download": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER, log_path=str(tmp_path / "chromedriver.log"))
    drv = webdriver.Chrome(service=service, options=opts)
    drv.set_page_load_timeout(WAIT_S)
    drv.set_script_timeout(WAIT_S)
    return drv


class Shots:
    """Numbered screenshots of the steps, kept as test artifacts in
    <build dir>/test-artifacts/<name>/ (this run's pictures only)."""

    def __init__(self, drv, name):
        self.drv = drv
        self.n = 0
        self.dir = BUILD / "test-artifacts" / name
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("*.png"):
            old.unlink()

    def __call__(self, name):
        self.n += 1
        path = self.dir / f"{self.n:02d}-{name}.png"
        assert self.drv.save_screenshot(str(path)), path
        assert path.stat().st_size > 1000, path
        return path


def wait(drv, what, cond, timeout=WAIT_S):
    """cond(drv) until truthy (bounded); its value. A failure shows the page's
    text and the browser's log. An element that cond found and the page
    redrew before cond read it (the panels redraw as messages come) is
    asked again at the next poll, not a failure."""
    try:
        return WebDriverWait(drv, timeout, poll_frequency=0.05,
                             ignored_exceptions=[StaleElementReferenceException]).until(lambda d: cond(d))
    except TimeoutException:
        page = drv.find_element(By.TAG_NAME, "main").text
        log = "\n".join(e["message"] for e in drv.get_log("browser"))
        raise AssertionError(f"{what}: not within {timeout} s; the page says:\n{page[:3000]}\n"
                             f"browser log:\n{log[-3000:]}")


def page_text(drv):
    """The console's translations, {pl: {key: text}, en: {...}}, from its own module."""
    return drv.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('/js/i18n.js').then((m) => done(m.TEXT), (e) => done(String(e)));")


def login(drv, user, password):
    """Through the login form; returns once the console shows, its WebSocket
    is subscribed and the alarms are listed."""
    wait(drv, "the login form", lambda d: d.find_element(By.ID, "login-view").is_displayed())
    drv.find_element(By.NAME, "username").send_keys(user)
    drv.find_element(By.NAME, "password").send_keys(password)
    drv.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    wait(drv, f"{user}'s console, subscribed and with the alarms listed",
         lambda d: d.find_element(By.ID, "console-view").is_displayed()
         and d.find_element(By.ID, "status-ws").get_attribute("data-state") == "open"
         and d.find_element(By.ID, "alarms").get_attribute("data-loaded") == "true")
    assert drv.find_element(By.ID, "status-user").text == user


def console_daemon(make_daemon, extra_toml="", server=None, **kw):
    """zaulekd serving the console from this source tree, whichever build
    runs the test."""
    server = dict(server or {})
    server.setdefault("web_root", str(SOURCE_DIR / "web"))
    return make_daemon(extra_toml=extra_toml, server=server, **kw)


def add_recording(d, headers, sim, user, password, names, recording=True, **extra):
    """Adds the simulator's cameras (one per name) and waits until each has
    subscribed to its events and, with `recording`, records; their ids."""
    ids = []
    for cam, name in zip(sim.cameras, names):
        r, _ = add_camera(d, headers, cam["onvif_url"], user, password, name=name, **extra)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for cid in ids:
        wait_log(d, rf"events {re.escape(cid)}: subscribed")
        if recording:
            wait_until(f"{cid} recording", lambda cid=cid: requests.get(
                d.url(f"/api/v1/cameras/{cid}"), headers=headers, timeout=10).json()["recording"]["state"]
                == "recording", 60, step=0.2)
    return ids
