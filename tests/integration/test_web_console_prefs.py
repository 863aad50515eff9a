"""The rest of the console (issue 21) in a real browser: Debian's Chromium,
headless, driven by Selenium, against the real zaulekd and zaulek-sim over
loopback.

- The grid's layout and cameras are kept per user on the server: set in one
  browser, they come back in a fresh browser (another profile: no
  localStorage) for the same user, and not for another user.
- '?' lists the timeline's and player's keys too (from the table the key
  handler uses), and a key listed acts (3: speed 4x).
- An administrator chooses a camera's streams in the administration view
  (the camera is asked for its profiles; the choice is read back over REST).
- The player opens its socket again when zaulekd restarts under it, at the
  time it showed, and plays on (the <video>'s time advances again).

Every wait is bounded; times are printed, never asserted. Screenshots in
<build dir>/test-artifacts/web_prefs/ (console_browser.Shots)."""
import time
from datetime import datetime

import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns
from console_browser import Shots, browser, console_daemon, login, page_text, wait
from simfleet import SimFleet
from zaulekd_fixture import ROLE_USERS

enter_netns()

USER = "prefsadmin"
PASSWORD = "Prefs-Secret-3c9d"
CONFIG = FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n[recording]\nsegment_seconds = 5\n"


def grid_state(drv):
    return drv.execute_script("""
        const g = document.getElementById('grid');
        return {layout: Number(g.dataset.layout), prefs: g.dataset.prefs || '',
                saved: Number(g.dataset.prefsSaved || 0),
                cameras: [...g.querySelectorAll('.tile')].map((t) => t.dataset.camera || null)};""")


def player(drv):
    return drv.execute_script("""
        const p = document.getElementById('player'), v = document.getElementById('player-video');
        return {state: p.dataset.state, wall: p.dataset.wall ? Number(p.dataset.wall) : null,
                speed: Number(p.dataset.speed), time: v.currentTime,
                reconnects: Number(p.dataset.reconnects || 0),
                text: document.getElementById('player-state').innerText};""")


def again(act, tries=20):
    """act() again, at once, when the table was redrawn under it (a camera's
    status message redraws the administration's rows); bounded."""
    for i in range(tries):
        try:
            return act()
        except StaleElementReferenceException:
            if i == tries - 1:
                raise


def fresh_browser(path):
    """A browser with a profile of its own (nothing stored from another)."""
    path.mkdir(parents=True, exist_ok=True)
    return browser(path)


def prefs(d, role):
    r = requests.get(d.url("/api/v1/me/preferences"), headers=d.bearer(ROLE_USERS[role]), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["preferences"]


def test_grid_kept_per_user_help_and_streams(make_daemon, tmp_path):
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        d = console_daemon(make_daemon, CONFIG)
        h = admin_headers(d)
        cams = []
        for i in range(2):
            r, _ = add_camera(d, h, sim.cameras[i]["onvif_url"], USER, PASSWORD,
                              recording={"mode": "off", "retention_days": 30})
            assert r.status_code == 201, r.text
            cams.append(r.json()["id"])
        operator, admin = ROLE_USERS["operator"], ROLE_USERS["administrator"]

        # One browser: the operator picks a grid of 9 with the second camera first.
        drv = fresh_browser(tmp_path / "first")
        shot = Shots(drv, "web_prefs")
        try:
            drv.get(d.url("/"))
            pl = page_text(drv)["pl"]
            login(drv, operator, d.passwords[operator])
            wait(drv, "the grid from the server (none yet)", lambda d: grid_state(d)["prefs"] == "none")
            body = drv.find_element(By.TAG_NAME, "body")
            body.send_keys("3")
            wait(drv, "9 tiles", lambda d: grid_state(d)["layout"] == 9)
            body.send_keys(Keys.DELETE)  # the first tile emptied
            t0 = time.monotonic()
            wait(drv, "the grid saved on the server", lambda _: (
                prefs(d, "operator").get("grid", {}).get("layout") == 9
                and prefs(d, "operator")["grid"]["cells"][0] is None))
            print(f"the grid on the server {time.monotonic() - t0:.2f} s after the change")
            stored = prefs(d, "operator")["grid"]
            assert stored["cells"][1] == cams[1], stored
            shot("grid-9-first-browser")

            # '?' lists every shortcut, the timeline's too, in sections.
            body.send_keys("?")
            wait(drv, "the help", lambda d: d.find_element(By.ID, "help").is_displayed())
            help_text = drv.find_element(By.ID, "help-keys").text
            for key in ("key.layout16", "key.pause", "key.speed", "key.next_event", "key.bookmark",
                        "help.section.timeline", "help.section.live", "help.section.any"):
                assert pl[key] in help_text, key
            n = int(drv.find_element(By.ID, "help-keys").get_attribute("data-shortcuts"))
            listed = drv.find_elements(By.CSS_SELECTOR, "#help-keys tr[data-action]")
            assert len({r.get_attribute("data-action") for r in listed}) == n, (n, len(listed))
            shot("help")
            body.send_keys(Keys.ESCAPE)
            wait(drv, "help closed", lambda d: not d.find_element(By.ID, "help").is_displayed())
            # In the timeline view the digits are speeds, not layouts.
            drv.find_element(By.CSS_SELECTOR, '#views button[data-view="timeline"]').click()
            wait(drv, "the timeline view", lambda d: d.find_element(By.ID, "timeline-page").is_displayed())
            body.send_keys("3")
            wait(drv, "speed 4 by key", lambda d: player(d)["speed"] == 4)
            drv.find_element(By.CSS_SELECTOR, '#views button[data-view="live"]').click()
            wait(drv, "back to live, 9 tiles kept", lambda d: grid_state(d)["layout"] == 9)
        finally:
            drv.quit()

        # A fresh browser (another profile, nothing stored): the same grid.
        drv = fresh_browser(tmp_path / "second")
        shot.drv = drv
        try:
            drv.get(d.url("/"))
            login(drv, operator, d.passwords[operator])
            g = wait(drv, "the grid from the server", lambda d: (lambda g: g if g["prefs"] == "server"
                                                                and g["layout"] == 9 else None)(grid_state(d)))
            assert g["cameras"][0] is None and g["cameras"][1] == cams[1], g
            shot("grid-9-fresh-browser")
            # Another user in the same browser: not the operator's grid.
            drv.find_element(By.ID, "logout").click()
            login(drv, admin, d.passwords[admin])
            g = wait(drv, "the administrator's own grid", lambda d: (lambda g: g if g["prefs"] in (
                "none", "local") else None)(grid_state(d)))
            assert g["layout"] == 4, g

            # The administrator chooses the first camera's streams.
            drv.find_element(By.CSS_SELECTOR, '#views button[data-view="admin"]').click()
            wait(drv, "the camera table", lambda d: d.find_element(By.ID, "adm-camera-table")
                 .get_attribute("data-loaded") == "true")
            again(lambda: drv.find_element(
                By.CSS_SELECTOR, f'#adm-camera-rows tr[data-camera-id="{cams[0]}"] button.streams').click())
            t0 = time.monotonic()
            ready = f'tr.streams[data-camera-id="{cams[0]}"][data-state="ready"]'
            wait(drv, "the camera's profiles", lambda d: d.find_elements(By.CSS_SELECTOR, ready))
            print(f"profiles asked of the camera in {time.monotonic() - t0:.2f} s")

            def check_and_choose():
                main = Select(drv.find_element(By.CSS_SELECTOR, f"{ready} select[name=main_profile]"))
                assert main.first_selected_option.get_attribute("value") == "main"
                assert [o.get_attribute("value") for o in main.options] == ["main", "sub"]
                assert "1920×1080" in main.options[0].text
                main.select_by_value("sub")
            again(check_and_choose)
            shot("streams-choice")
            # Kept over a redraw, then saved.
            again(lambda: drv.find_element(By.CSS_SELECTOR, f"{ready} button[type=submit]").click())

            def chosen(_):
                r = requests.get(d.url(f"/api/v1/cameras/{cams[0]}"), headers=h, timeout=10)
                return {s["kind"]: s["profile_token"] for s in r.json()["streams"]} == {
                    "main": "sub", "sub": "sub"}
            wait(drv, "the choice stored", chosen)
            wait(drv, "the saved note", lambda d: again(lambda: pl["adm.cam.streams_saved"] in d.find_element(
                By.CSS_SELECTOR, f'tr.streams[data-camera-id="{cams[0]}"]').text))
            wait(drv, "the table's streams", lambda d: again(lambda: "main: H264 640×360" in d.find_element(
                By.CSS_SELECTOR, f'#adm-camera-rows tr[data-camera-id="{cams[0]}"]').text))
            shot("streams-saved")
            bad = [e for e in drv.get_log("browser") if "Uncaught" in e["message"]
                   or "Content Security Policy" in e["message"]]
            assert not bad, bad
        finally:
            drv.quit()
    print(f"screenshots: {shot.dir}")


def test_player_reconnects_after_a_restart(make_daemon, tmp_path):
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        d = console_daemon(make_daemon, CONFIG)
        # The same port after the restart: the page stays where it is.
        d.config_path.write_text(d.config_path.read_text().replace(
            'listen = "127.0.0.1:0"', f'listen = "127.0.0.1:{d.port}"'))
        h = admin_headers(d)
        r, _ = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, PASSWORD,
                          recording={"mode": "continuous", "retention_days": 30})
        assert r.status_code == 201, r.text
        cam = r.json()["id"]
        investigator = ROLE_USERS["investigator"]
        drv = browser(tmp_path)
        try:
            drv.get(d.url("/"))
            pl = page_text(drv)["pl"]
            login(drv, investigator, d.passwords[investigator])
            drv.find_element(By.CSS_SELECTOR, '#views button[data-view="timeline"]').click()
            wait(drv, "the timeline view", lambda d: d.find_element(By.ID, "timeline-page").is_displayed())
            Select(drv.find_element(By.ID, "timeline-camera")).select_by_value(cam)

            def secs(text):
                return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

            def recorded(_):
                r = requests.get(d.url(f"/api/v1/cameras/{cam}/recordings"), headers=h, timeout=10)
                ranges = r.json().get("ranges") if r.status_code == 200 else None
                return ranges if ranges and secs(ranges[0]["end"]) - secs(ranges[0]["start"]) >= 4 else None
            ranges = wait(drv, "footage recorded", recorded, 60)
            start = ranges[0]["start"]
            # Play from the start of the footage (the player's own socket).
            drv.find_element(By.ID, "tl-now").click()
            t = secs(start) * 1000
            c = drv.execute_script("""
                const c = document.getElementById('timeline');
                return {from: Number(c.dataset.from), to: Number(c.dataset.to), width: c.clientWidth};""")
            x = (t + 1000 - c["from"]) * c["width"] / (c["to"] - c["from"])
            ActionChains(drv).move_to_element_with_offset(
                drv.find_element(By.ID, "timeline"), int(x - c["width"] / 2), 0).click().perform()
            p0 = wait(drv, "playing", lambda d: (lambda p: p if p["state"] in ("playing", "live")
                                                  and p["time"] > 0.5 else None)(player(d)), 30)
            before = p0["wall"]
            d.stop()
            t0 = time.monotonic()
            wait(drv, "reconnecting shown", lambda d: player(d)["state"] in ("reconnecting", "connecting"))
            assert pl["player.state.reconnecting"].split(":")[0] in player(drv)["text"] or \
                player(drv)["state"] == "connecting"
            d.start()
            p1 = wait(drv, "playing again", lambda d: (lambda p: p if p["reconnects"] >= 1
                                                        and p["state"] in ("playing", "live")
                                                        and p["wall"] and p["wall"] >= before - 2000
                                                        else None)(player(d)), 60)
            print(f"playback back {time.monotonic() - t0:.2f} s after the stop, at "
                  f"{(p1['wall'] - before) / 1000:+.1f} s from the time shown before")
            t1 = player(drv)["time"]
            wait(drv, "the video advancing after the reconnect", lambda d: player(d)["time"] > t1 + 0.5, 20)
        finally:
            drv.quit()
