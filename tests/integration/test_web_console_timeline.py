"""The console's timeline, player and export dialog in a real browser (issue
21): Debian's Chromium, headless, driven by Selenium, against the real zaulekd
recording a real simulated camera, in this process's own network namespace
(loopback only). An investigator switches to the timeline view and opens the
camera: the recorded range, the motion event posted to the simulator, a
bookmark and an evidence hold are drawn (the canvas says how many of each it
laid out); the zoom goes from a minute to 90 days and the recording stays
drawn at both ends; English switches the panel.

Then a click on the timeline 20 s before now plays back the last minute (the
<video>'s currentTime advances, the shown wall time is within the clicked
minute), speed 2x, pause, a step to the next event; a bookmark from the player is read back over REST;
a range dragged on the timeline is exported with a reason, the job's
progress comes over the console WebSocket, the ZIP is downloaded by the
browser and `zaulek-verify` (from the build directory) exits 0 on it with
the key the dialog shows. Every wait is bounded; times are printed, never
asserted. Screenshots in <build dir>/test-artifacts/web_timeline/."""
import os
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns, wait_log
from simfleet import SimFleet
from console_browser import Shots, browser, console_daemon, login, page_text, wait
from zaulekd_fixture import ROLE_USERS, wait_until

enter_netns()

USER = "tladmin"
PASSWORD = "Timeline-Secret-5e2a"
CONFIG = FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n[recording]\nsegment_seconds = 5\n"
BUILD = Path(os.environ.get("ZAULEK_BUILD_DIR", "/tmp"))
DAY_MS = 86400 * 1000


def iso(t):
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def canvas(drv):
    return drv.execute_script("""
        const c = document.getElementById('timeline');
        const n = (k) => (c.dataset[k] === undefined ? null : Number(c.dataset[k]));
        return {from: n('from'), to: n('to'), bars: n('bars'), gaps: n('gaps'), marks: n('marks'),
                bookmarks: n('bookmarks'), width: c.clientWidth};""")


def wait_canvas(drv, what, pred, timeout=15):
    """Waits until pred(canvas state); a failure says what the canvas had."""
    try:
        return wait(drv, what, lambda d: (lambda c: c if pred(c) else None)(canvas(d)), timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}\ncanvas: {canvas(drv)}") from None


def player(drv):
    return drv.execute_script("""
        const p = document.getElementById('player'), v = document.getElementById('player-video');
        return {state: p.dataset.state, wall: p.dataset.wall ? Number(p.dataset.wall) : null,
                speed: Number(p.dataset.speed), time: v.currentTime, rate: v.playbackRate,
                text: document.getElementById('player-state').innerText};""")


def click_at_time(drv, t_ms):
    """Clicks the timeline at wall time t_ms (ms), through the pointer."""
    c = canvas(drv)
    x = (t_ms - c["from"]) * c["width"] / (c["to"] - c["from"])
    el = drv.find_element(By.ID, "timeline")
    ActionChains(drv).move_to_element_with_offset(el, int(x - c["width"] / 2), 0).click().perform()
    return x


def test_timeline_player_and_export(make_daemon, tmp_path):
    d = console_daemon(make_daemon, CONFIG)
    h = admin_headers(d)
    investigator = ROLE_USERS["investigator"]
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        r, _ = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, PASSWORD, name="Zaułek Podwórze")
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        wait_log(d, rf"events {re.escape(cid)}: subscribed")

        # Footage, a motion event, a bookmark and a hold for the timeline.
        def recorded_s():
            rec = requests.get(d.url(f"/api/v1/cameras/{cid}/recordings"), headers=h, timeout=10).json()
            return sum((datetime.fromisoformat(g["end"]) - datetime.fromisoformat(g["start"])).total_seconds()
                       for g in rec["ranges"])
        wait_until("12 s recorded", lambda: recorded_s() >= 12, 60, step=0.5)
        sim.post_event(0, "motion", True)
        sim.post_event(0, "motion", False)
        wait_until("the motion events stored", lambda: len(requests.get(
            d.url(f"/api/v1/events?camera={cid}&from={iso(datetime.now(timezone.utc) - timedelta(hours=1))}"),
            headers=h, timeout=10).json()["events"]) >= 1, 20, step=0.2)
        now = datetime.now(timezone.utc)
        r = requests.post(d.url("/api/v1/bookmarks"), headers=h, timeout=10,
                          json={"camera_id": cid, "time": iso(now - timedelta(seconds=5)), "note": "rower"})
        assert r.status_code == 201, r.text
        r = requests.post(d.url("/api/v1/holds"), headers=h, timeout=10,
                          json={"camera_id": cid, "from": iso(now - timedelta(minutes=20)),
                                "to": iso(now - timedelta(seconds=8)), "reason": "sprawa 7/2026"})
        assert r.status_code == 201, r.text
        hold_id = r.json()["id"]

        drv = browser(tmp_path, downloads=downloads)
        shot = Shots(drv, "web_timeline")
        try:
            drv.get(d.url("/"))
            text = page_text(drv)
            pl, en = text["pl"], text["en"]
            login(drv, investigator, d.passwords[investigator])
            assert drv.find_element(By.ID, "views").is_displayed()
            drv.find_element(By.CSS_SELECTOR, '#views button[data-view="timeline"]').click()
            wait(drv, "the timeline view", lambda d: d.find_element(By.ID, "timeline-page").is_displayed()
                 and not d.find_element(By.ID, "grid-view").is_displayed())
            assert drv.find_elements(By.CSS_SELECTOR, "#grid .tile") == []  # no live sockets behind it
            assert pl["player.state.idle"] in drv.find_element(By.ID, "player-state").text
            # A camera picked in the list opens its timeline (the last hour).
            drv.find_element(By.CSS_SELECTOR, f'#camera-list li[data-camera-id="{cid}"] button').click()
            c = wait_canvas(drv, "the recording, the event, the bookmark drawn",
                            lambda c: c["bars"] and c["marks"] and c["bookmarks"])
            assert c["to"] - c["from"] == 3600 * 1000, c
            assert Select(drv.find_element(By.ID, "timeline-camera")).first_selected_option \
                .get_attribute("value") == cid
            status = drv.find_element(By.ID, "timeline-status").text
            assert re.search(r"zdarzeń: [1-9]", status) and "zakładek: 1" in status, status
            legend = drv.find_element(By.ID, "timeline-legend").text
            assert pl["timeline.hold"] in legend and pl["kind.motion"] in legend, legend
            # The hold is drawn: a pixel of its colour in the hold lane.
            held = drv.execute_script("""
                const c = document.getElementById('timeline'), g = c.getContext('2d');
                const dpr = window.devicePixelRatio || 1;
                const px = g.getImageData(Math.round((c.width - 40 * dpr)), Math.round(56 * dpr), 1, 1).data;
                return [px[0], px[1], px[2]];""")
            assert held == [0x7b, 0x3f, 0xb5], held
            shot("timeline-hour")

            # Zoom: 90 days and a minute, the footage drawn at both ends.
            Select(drv.find_element(By.ID, "tl-span")).select_by_value(str(90 * DAY_MS))
            wait_canvas(drv, "90 days", lambda c: c["to"] - c["from"] == 90 * DAY_MS and c["bars"] == 1)
            shot("timeline-90-days")
            Select(drv.find_element(By.ID, "tl-span")).select_by_value(str(60 * 1000))
            wait_canvas(drv, "a minute", lambda c: c["to"] - c["from"] == 60 * 1000 and c["bars"] >= 1)
            for _ in range(12):  # x3 each: a minute to 90 days in 11, and it stops there
                drv.find_element(By.ID, "tl-zoom-out").click()
            wait_canvas(drv, "zoomed out to the most", lambda c: c["to"] - c["from"] == 90 * DAY_MS)
            Select(drv.find_element(By.ID, "tl-span")).select_by_value(str(10 * 60 * 1000))
            wait_canvas(drv, "ten minutes", lambda c: c["to"] - c["from"] == 600 * 1000 and c["bars"] >= 1)

            # English.
            drv.find_element(By.ID, "lang-en").click()
            wait(drv, "the timeline in English",
                 lambda d: en["timeline.hold"] in d.find_element(By.ID, "timeline-legend").text)
            assert drv.find_element(By.ID, "tl-next").text == en["timeline.next"]
            drv.find_element(By.ID, "lang-pl").click()

            play_back_the_last_minute(drv, d, h, cid, pl, shot)
            export_and_verify(drv, downloads, shot)
        finally:
            drv.quit()
        requests.delete(d.url(f"/api/v1/holds/{hold_id}"), headers=h, timeout=10)


def play_back_the_last_minute(drv, d, h, cid, pl, shot):
    """A click 20 s before now plays back; speed, pause, the next event, a bookmark from the player."""
    t_click = int(time.time() * 1000) - 20000
    t0 = time.monotonic()
    click_at_time(drv, t_click)
    first = {}

    def advancing(d):
        p = player(d)
        if p["state"] in ("playing", "live") and p["wall"] and p["time"] > 0:
            first.setdefault("t", p["time"])
            if p["time"] - first["t"] >= 1.5:
                return p
        return None
    p = wait(drv, "the last minute playing back", advancing, 30)
    print(f"click -> playing back: {time.monotonic() - t0:.1f} s; wall {p['wall'] - t_click} ms "
          f"after the clicked time")
    assert t_click - 6000 <= p["wall"] <= time.time() * 1000, (p, t_click)
    shot("playback")

    drv.find_element(By.CSS_SELECTOR, '#player-speeds button[data-speed="2"]').click()
    wait(drv, "2x", lambda d: player(d)["speed"] == 2 and player(d)["rate"] == 2)
    drv.find_element(By.ID, "player-toggle").click()
    wait(drv, "paused", lambda d: player(d)["state"] == "paused")
    drv.find_element(By.ID, "player-toggle").click()
    wait(drv, "playing again", lambda d: player(d)["state"] in ("playing", "live"))

    # Step to the next event (the previous one if none is ahead): the player
    # goes to one of the camera's events.
    since = iso(datetime.now(timezone.utc) - timedelta(hours=1))
    times = [datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() * 1000 for e in requests.get(
        d.url(f"/api/v1/events?camera={cid}&from={since}"), headers=h, timeout=10).json()["events"]]
    assert times
    before = player(drv)["wall"]
    ahead = any(t > before + 2000 for t in times)
    drv.find_element(By.ID, "tl-next" if ahead else "tl-prev").click()
    try:
        p = wait(drv, "the player at the next/previous event", lambda d: (lambda p: p if p["wall"] is not None and any(
            0 <= p["wall"] - t <= 3000 and (t > before if ahead else t < before) for t in times) else None)(player(d)))
    except AssertionError as e:
        raise AssertionError(f"{e}\nplayer: {player(drv)}, before {before}, events {times}, "
                             f"status: {drv.find_element(By.ID, 'timeline-status').text}") from None
    print(f"{'next' if ahead else 'previous'} event: the player {p['wall'] - before:.0f} ms from where it was")

    # A bookmark from the player, read back over REST.
    drv.find_element(By.ID, "bookmark-note").send_keys("samochód pod bramą")
    drv.find_element(By.ID, "bookmark-add").click()
    wait(drv, "the bookmark added", lambda d: d.find_element(By.ID, "bookmark-status").text
         .startswith(pl["player.bookmarked"].split("{")[0]))
    marks = requests.get(d.url(f"/api/v1/bookmarks?camera={cid}"), headers=h, timeout=10).json()
    assert any(b["note"] == "samochód pod bramą" and b["created_by"] == ROLE_USERS["investigator"]
               for b in marks["bookmarks"]), marks


def export_and_verify(drv, downloads, shot):
    """A dragged range exported with a reason; progress, download, zaulek-verify."""
    c = canvas(drv)
    el = drv.find_element(By.ID, "timeline")
    x0 = (int(time.time() * 1000) - 20000 - c["from"]) * c["width"] / (c["to"] - c["from"])
    x1 = (int(time.time() * 1000) - 6000 - c["from"]) * c["width"] / (c["to"] - c["from"])
    ActionChains(drv).move_to_element_with_offset(el, int(x0 - c["width"] / 2), 10) \
        .click_and_hold().move_by_offset(int((x1 - x0) / 2), 0) \
        .move_by_offset(int((x1 - x0) / 2), 0).release().perform()
    wait(drv, "the export button", lambda d: d.find_element(By.ID, "export-open").is_enabled())
    drv.find_element(By.ID, "export-open").click()
    wait(drv, "the export dialog", lambda d: d.find_element(By.ID, "export-dialog").is_displayed())
    drv.find_element(By.ID, "export-reason").send_keys("KPP 123/2026: kradzież roweru")
    shot("export-dialog")
    drv.find_element(By.ID, "export-submit").click()
    t0 = time.monotonic()
    try:
        state = wait(drv, "the export finished", lambda d: (lambda s: s if s in ("done", "failed") else None)(
            d.find_element(By.ID, "export-dialog").get_attribute("data-state")), 60)
        assert state == "done", drv.find_element(By.ID, "export-dialog").text
    except AssertionError as e:
        raise AssertionError(f"{e}\nthe dialog says: {drv.find_element(By.ID, 'export-dialog').text}") from None
    print(f"export: {time.monotonic() - t0:.1f} s")
    cmd = wait(drv, "the verification hint with the key", lambda d: (lambda s: s if "…" not in s else None)(
        d.find_element(By.ID, "export-verify-cmd").text))
    shot("export-done")
    drv.find_element(By.ID, "export-download").click()
    zips = wait_until("the ZIP downloaded", lambda: [p for p in downloads.glob("*.zip")
                                                     if p.stat().st_size > 0], 30, step=0.2)
    m = re.fullmatch(r"zaulek-verify (\S+\.zip) --key (\S+)", cmd)
    assert m and zips[0].name == m.group(1), (cmd, zips)
    out = subprocess.run([str(BUILD / "evidence" / "zaulek-verify"), str(zips[0]), "--key", m.group(2)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    print(out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "")
