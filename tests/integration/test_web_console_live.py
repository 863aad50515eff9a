"""The console's live grid, cameras, alarms, language and shortcuts in a real
browser (issue 21): Debian's Chromium, headless, driven by Selenium, against
the real zaulekd recording four real simulated cameras, in this process's own
network namespace (loopback only). An operator logs in; the four tiles of the
default grid play the live WebSocket through Media Source Extensions (each
<video>'s currentTime advances); a tile enlarged by double-click plays the
main stream; with a one-tile grid, motion at another camera raises an alarm
that beeps (counted), brings its camera into the tile, is acknowledged,
assigned to a colleague by name and resolved with a note (read back over
REST); the resolved alarm is found by a word of its note; the cameras list
filters by name and state; English is chosen and remembered with the grid
across a reload; '?' lists the shortcuts in both languages. Every wait is
bounded; times are printed, never asserted. Screenshots of each step are
written to <build dir>/test-artifacts/web_console/ (the docs' pictures in
docs/img/ are taken from there)."""
import time

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from camera_helpers import FAST_CAMERAS_TOML, admin_headers, enter_netns
from console_browser import Shots, add_recording, browser, console_daemon, login, page_text, wait
from simfleet import SimFleet
from test_alarms import RULES_TOML
from test_web_console import rest_alarm, row, row_is
from zaulekd_fixture import ROLE_USERS

enter_netns()

USER = "gridadmin"
PASSWORD = "Grid-Secret-71c0d2"
FPS = 25
CONFIG = (FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n[recording]\nsegment_seconds = 5\n"
          + RULES_TOML)


def tiles(drv):
    return drv.execute_script("""
        return [...document.querySelectorAll('#grid .tile')].map((el) => {
          const v = el.querySelector('video');
          return {index: el.dataset.index, camera: el.dataset.camera || null,
                  stream: el.dataset.stream || null, state: el.dataset.state,
                  connects: Number(el.dataset.connects || 0),
                  firstFrameMs: el.dataset.firstFrameMs ? Number(el.dataset.firstFrameMs) : null,
                  time: v ? v.currentTime : null, text: el.innerText};
        });""")


def wait_playing(drv, cameras, what, advance=1.0, timeout=40):
    """Every listed camera's tile plays: its video's currentTime advanced by
    `advance` s since it was first seen above zero."""
    first = {}
    t0 = time.monotonic()

    def advanced(d):
        now = {t["camera"]: t for t in tiles(d)}
        for cam in cameras:
            tile = now.get(cam)
            if tile and tile["time"] and tile["time"] > 0:
                first.setdefault(cam, tile["time"])
        done = all(cam in now and cam in first and now[cam]["time"] - first[cam] >= advance
                   and now[cam]["state"] == "playing" for cam in cameras)
        return now if done else None
    now = wait(drv, what, advanced, timeout)
    print(f"{what}: {time.monotonic() - t0:.1f} s; connect -> moving picture "
          + "/".join(f"{now[c]['firstFrameMs']}" for c in cameras) + " ms; "
          + ", ".join(f"{c} {first[c]:.2f}->{now[c]['time']:.2f}" for c in cameras))
    return now


def test_live_grid_alarms_language_and_shortcuts(make_daemon, tmp_path):
    d = console_daemon(make_daemon, CONFIG)
    h = admin_headers(d)
    operator, admin = ROLE_USERS["operator"], ROLE_USERS["administrator"]
    op_h = d.bearer(operator)
    with SimFleet(cameras=4, user=USER, password=PASSWORD) as sim:
        cams = add_recording(d, h, sim, USER, PASSWORD, [f"Zaułek {i + 1}" for i in range(4)])
        drv = browser(tmp_path)
        shot = Shots(drv, "web_console")
        try:
            drv.get(d.url("/"))
            text = page_text(drv)
            pl, en = text["pl"], text["en"]
            assert drv.find_element(By.TAG_NAME, "html").get_attribute("lang") == "pl"
            shot("login")

            # Log in: the default grid holds the first four cameras, small
            # tiles on the sub stream, and all four play.
            login(drv, operator, d.passwords[operator])
            wait(drv, "the cameras listed",
                 lambda d: len(d.find_elements(By.CSS_SELECTOR, "#camera-list li")) == 4)
            shown = tiles(drv)
            assert [t["camera"] for t in shown] == sorted(cams, key=lambda c: int(c.split("-")[-1])), shown
            assert all(t["stream"] == "sub" for t in shown), shown
            wait_playing(drv, cams, "4 tiles playing")
            shot("grid-4-playing")
            # Each tile asked for its camera's snapshot (shown until the first
            # frame), and the cameras served them through zaulekd.
            asked = drv.execute_script(
                "return performance.getEntriesByType('resource')"
                ".filter((e) => e.name.includes('/snapshot.jpg')).map((e) => e.name)")
            assert {c for c in cams if any(f"/cameras/{c}/snapshot.jpg" in u for u in asked)} \
                == set(cams), asked
            served = [c["snapshots"] for c in sim.list_cameras()]
            assert all(n >= 1 for n in served), served

            # A camera that stops sending shows stalled (the server's stall
            # message); one whose ONVIF and RTSP go down shows offline at
            # once from its status; both play again by themselves.
            def tile_of(d, cam):
                return next(t for t in tiles(d) if t["camera"] == cam)
            sim.set_faults(1, rtsp_stall_ms=10000)
            sim.set_faults(2, reboot_s=10)
            wait(drv, "stalled and offline tiles",
                 lambda d: tile_of(d, cams[1])["state"] == "stalled"
                 and tile_of(d, cams[2])["state"] == "offline", 20)
            assert pl["tile.stalled"] in tile_of(drv, cams[1])["text"]
            assert pl["tile.offline"] in tile_of(drv, cams[2])["text"]
            li = drv.find_element(By.CSS_SELECTOR, f'#camera-list li[data-camera-id="{cams[2]}"]')
            assert li.get_attribute("data-status") == "offline"
            assert pl["camstate.offline"] in li.text
            shot("grid-stalled-offline")
            wait_playing(drv, [cams[1], cams[2]], "stalled and offline tiles playing again", timeout=60)

            # The server closes a tile's socket (the tile's sub stream pull
            # restarts when the camera's credential policy changes; a new
            # recording mode alone does not touch it): the tile connects
            # again by itself.
            r = requests.patch(d.url(f"/api/v1/cameras/{cams[0]}"), headers=h,
                               json={"recording": {"mode": "events", "retention_days": 30},
                                     "allow_basic_auth": True},
                               timeout=10)
            assert r.status_code == 200, r.text
            wait(drv, "the tile reconnected", lambda d: tile_of(d, cams[0])["connects"] >= 2, 30)
            wait_playing(drv, [cams[0]], "the reconnected tile playing", timeout=40)

            # Double-click: the tile alone, on the main stream, playing.
            drv.execute_script("arguments[0].dispatchEvent(new MouseEvent('dblclick', {bubbles: true}))",
                               drv.find_element(By.CSS_SELECTOR, '#grid .tile[data-index="1"]'))
            wait(drv, "the enlarged tile", lambda d: [(t["camera"], t["stream"]) for t in tiles(d)]
                 == [(cams[1], "main")])
            wait_playing(drv, [cams[1]], "enlarged tile playing (main)")
            shot("grid-enlarged")
            drv.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
            wait(drv, "back to four tiles", lambda d: len(tiles(d)) == 4)

            # The cameras list: its status, filtered by name and by state.
            items = drv.find_elements(By.CSS_SELECTOR, "#camera-list li")
            assert {li.get_attribute("data-camera-id") for li in items} == set(cams)
            assert all(li.get_attribute("data-status") == "online" for li in items)
            assert all(pl["camstate.online"] in li.text for li in items)
            drv.find_element(By.ID, "camera-filter").send_keys("ZAULEK 3")
            wait(drv, "the name filter", lambda d: [li.get_attribute("data-camera-id") for li in
                 d.find_elements(By.CSS_SELECTOR, "#camera-list li")] == [cams[2]])
            drv.find_element(By.ID, "camera-filter").clear()
            drv.execute_script("const s = document.getElementById('camera-state');"
                               "s.value = 'offline'; s.dispatchEvent(new Event('change'));")
            wait(drv, "the state filter: none offline",
                 lambda d: not d.find_elements(By.CSS_SELECTOR, "#camera-list li")
                 and d.find_element(By.ID, "cameras-empty").text == pl["cameras.none"])
            drv.execute_script("const s = document.getElementById('camera-state');"
                               "s.value = ''; s.dispatchEvent(new Event('change'));")
            wait(drv, "all cameras again",
                 lambda d: len(d.find_elements(By.CSS_SELECTOR, "#camera-list li")) == 4)

            # One tile (key 1); motion at the fourth camera: an alarm that
            # beeps and brings that camera into the one tile.
            body = drv.find_element(By.TAG_NAME, "body")
            body.send_keys("1")
            wait(drv, "a one-tile grid", lambda d: [t["camera"] for t in tiles(d)] == [cams[0]])
            sound = drv.find_element(By.ID, "alarm-sound")
            assert sound.text == pl["sound.on"] and sound.get_attribute("data-muted") == "false"
            # (the outage above raised camera-health alarms: counts are relative)
            alarms0 = int(sound.get_attribute("data-alarms") or 0)
            beeps0 = int(sound.get_attribute("data-beeps") or 0)
            t_fire = time.monotonic()
            sim.post_event(3, "motion", True)
            tr = wait(drv, "the alarm in the page", lambda d: d.find_elements(
                By.CSS_SELECTOR, f'#alarm-rows tr[data-camera-id="{cams[3]}"]'))[0]
            alarm_id = tr.get_attribute("data-alarm-id")
            wait(drv, "the alarm's camera in the tile",
                 lambda d: [(t["camera"], t["stream"]) for t in tiles(d)] == [(cams[3], "main")])
            print(f"motion -> its camera in view: {(time.monotonic() - t_fire) * 1000:.0f} ms")
            assert drv.find_element(By.ID, "alarm-sound").get_attribute("data-alarms") == str(alarms0 + 1)
            beeps = drv.find_element(By.ID, "alarm-sound").get_attribute("data-beeps")
            print(f"beeps played (WebAudio, headless): {beeps}")
            assert beeps == str(beeps0 + 1), (beeps, beeps0)
            wait_playing(drv, [cams[3]], "the alarm's camera playing")
            a = rest_alarm(d, op_h, alarm_id)
            assert (a["camera_id"], a["state"]) == (cams[3], "new"), a
            assert "Zaułek 4" in tr.find_element(By.CSS_SELECTOR, "td.alarm-camera").text
            shot("alarm-in-view")

            # Acknowledge with the key 'a'; assign to a colleague by name.
            body.send_keys("a")
            tr = wait(drv, "acknowledged by key", row_is(alarm_id, state="acknowledged"))
            assert rest_alarm(d, op_h, alarm_id)["acknowledged_by"] == operator
            tr.find_element(By.CSS_SELECTOR, "input.assignee").send_keys("nobody-such")
            tr.find_element(By.CSS_SELECTOR, "button.assign").click()
            err = wait(drv, "the refusal of an unknown user",
                       lambda d: row(d, alarm_id).find_element(By.CSS_SELECTOR, "p.error").text)
            refused = requests.post(d.url(f"/api/v1/alarms/{alarm_id}/assign"), headers=op_h,
                                    json={"user": "nobody-such"}, timeout=10)
            assert refused.status_code >= 400, refused.text
            assert f"({refused.status_code})" in err and refused.json()["error"]["message"] in err, err
            tr = row(drv, alarm_id)
            tr.find_element(By.CSS_SELECTOR, "input.assignee").clear()
            tr.find_element(By.CSS_SELECTOR, "input.assignee").send_keys(admin)
            tr.find_element(By.CSS_SELECTOR, "button.assign").click()
            wait(drv, "assigned to the colleague", lambda d: pl["state.assigned"].replace(
                "{user}", admin) in row(d, alarm_id).find_element(By.CSS_SELECTOR, "td.alarm-state").text)
            assert rest_alarm(d, op_h, alarm_id)["assigned_to"] == admin
            assert row(drv, alarm_id).find_element(By.CSS_SELECTOR, "p.error").text == ""

            # Resolve with a note; then find it among the resolved alarms by a
            # word of the note, without its Polish letters.
            note = "Patrol sprawdził przejście: nietoperz w świetle lampy"
            tr = row(drv, alarm_id)
            tr.find_element(By.CSS_SELECTOR, "input.note").send_keys(note)
            tr.find_element(By.CSS_SELECTOR, "button.resolve").click()
            wait(drv, "resolved", row_is(alarm_id, state="resolved"))
            a = rest_alarm(d, op_h, alarm_id)
            assert (a["state"], a["resolved_by"], a["note"]) == ("resolved", operator, note), a
            drv.find_element(By.ID, "search-text").send_keys("swietle NIETOPERZ")
            drv.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
            found = wait(drv, "the resolved alarm found", lambda d: d.find_elements(
                By.CSS_SELECTOR, f'#search-rows tr[data-alarm-id="{alarm_id}"]'))[0]
            assert note in found.text and operator in found.text, found.text
            status = drv.find_element(By.ID, "search-status").text
            assert status.startswith(pl["search.found"].split(":")[0]), status
            drv.find_element(By.ID, "search-text").clear()
            drv.find_element(By.ID, "search-text").send_keys("kot")
            drv.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
            wait(drv, "nothing found for another word",
                 lambda d: not d.find_elements(By.CSS_SELECTOR, "#search-rows tr")
                 or not d.find_element(By.ID, "search-results").is_displayed())
            drv.find_element(By.ID, "search-text").clear()
            drv.find_element(By.ID, "search-text").send_keys("nietoperz")
            drv.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
            wait(drv, "found again", lambda d: d.find_elements(By.CSS_SELECTOR, "#search-rows tr"))
            drv.execute_script("document.getElementById('search-view').scrollIntoView()")
            shot("alarm-resolved-and-found")
            drv.execute_script("window.scrollTo(0, 0)")

            # Mute with 'm': a new alarm counts but does not beep.
            body.send_keys("m")
            wait(drv, "muted", lambda d: d.find_element(By.ID, "alarm-sound")
                 .get_attribute("data-muted") == "true")
            assert drv.find_element(By.ID, "alarm-sound").text == pl["sound.off"]
            sim.post_event(3, "motion", False)
            sim.post_event(3, "motion", True)
            wait(drv, "the second alarm counted",
                 lambda d: d.find_element(By.ID, "alarm-sound").get_attribute("data-alarms")
                 == str(alarms0 + 2))
            assert drv.find_element(By.ID, "alarm-sound").get_attribute("data-beeps") == beeps

            # Sixteen tiles (key 4): the four cameras and twelve empty tiles
            # that say how to fill them; then four again (key 2). English;
            # both kept across a reload, under this user's key.
            body.send_keys("4")
            wait(drv, "sixteen tiles", lambda d: len(tiles(d)) == 16)
            empty = [t for t in tiles(drv) if t["camera"] is None]
            assert len(empty) == 12 and all(t["state"] == "empty" and t["text"] == pl["grid.empty"]
                                            for t in empty), empty
            assert drv.find_element(By.ID, "grid").value_of_css_property(
                "grid-template-columns").count("px") == 4
            body.send_keys("2")
            wait(drv, "four tiles", lambda d: len(tiles(d)) == 4)
            stored = drv.execute_script(f"return JSON.parse(localStorage.getItem('zaulek.grid.{operator}'))")
            assert stored["layout"] == 4 and stored["cells"][:4] == [t["camera"] for t in tiles(drv)], stored
            drv.find_element(By.ID, "lang-en").click()
            wait(drv, "English", lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
            before = [t["camera"] for t in tiles(drv)]
            assert cams[3] in before, before
            drv.refresh()
            wait(drv, "the console again after a reload",
                 lambda d: d.find_element(By.ID, "console-view").is_displayed()
                 and d.find_element(By.ID, "status-ws").get_attribute("data-state") == "open")
            assert drv.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
            assert [t["camera"] for t in tiles(drv)] == before
            assert drv.find_element(By.CSS_SELECTOR, "#grid-view h2").text == en["grid.title"]
            assert drv.find_element(By.ID, "alarm-sound").text == en["sound.off"]  # mute remembered
            assert all(en["camstate.online"] in li.text
                       for li in drv.find_elements(By.CSS_SELECTOR, "#camera-list li"))
            wait_playing(drv, before, "4 tiles playing after the reload")
            shot("english-grid")

            # '?': the shortcuts, in English, then in Polish (key l).
            body = drv.find_element(By.TAG_NAME, "body")
            body.send_keys("?")
            wait(drv, "the shortcut help", lambda d: d.find_element(By.ID, "help").is_displayed())
            keys = drv.find_elements(By.CSS_SELECTOR, "#help-keys tr")
            assert len(keys) >= 10, len(keys)
            assert drv.find_element(By.CSS_SELECTOR, "#help h2").text == en["help.title"]
            assert en["key.layout16"] in drv.find_element(By.ID, "help-keys").text
            shot("shortcuts-en")
            body.send_keys(Keys.ESCAPE)
            wait(drv, "help closed", lambda d: not d.find_element(By.ID, "help").is_displayed())
            body.send_keys("l")
            wait(drv, "Polish by key", lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "pl")
            body.send_keys("?")
            wait(drv, "the shortcut help in Polish", lambda d: d.find_element(By.ID, "help").is_displayed()
                 and pl["key.layout16"] in d.find_element(By.ID, "help-keys").text)
            assert drv.find_element(By.CSS_SELECTOR, "#help h2").text == pl["help.title"]
            shot("shortcuts-pl")
            body.send_keys(Keys.ESCAPE)

            log = drv.get_log("browser")
            bad = [e for e in log if "Content Security Policy" in e["message"]
                   or "Uncaught" in e["message"]]
            assert not bad, bad
        finally:
            drv.quit()
    print(f"screenshots: {shot.dir}")
