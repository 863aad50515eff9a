"""Sites in the console (issue 21) in a real browser: Debian's Chromium,
headless, driven by Selenium, against the real zaulekd and three simulated
cameras, in this process's own network namespace (loopback only). An
administrator creates a site in the administration view, uploads its plan
(a PNG) and adds two cameras to it, drags them from the tray onto the plan
(the places read back over REST); a second site and camera come over REST.
In the live view the site selector narrows the cameras list, the grid and
the alarms panel (an alarm of the other site is counted, not listed); motion
at a camera of the site raises an alarm that shows on its plan marker and
clears when resolved; a click on a marker brings the camera into the grid;
a camera moved into the site over REST appears without a reload (the hub's
`site` message); the choice survives a reload, and the texts switch to
English. Every wait is bounded; times are printed, never asserted.
Screenshots go to <build dir>/test-artifacts/web_sites/ (docs/img/
console-plan.png and admin-sites.png are taken from there)."""
import struct
import time
import zlib

import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from camera_helpers import FAST_CAMERAS_TOML, admin_headers, enter_netns
from console_browser import Shots, add_recording, browser, console_daemon, login, page_text, wait
from simfleet import SimFleet
from test_alarms import RULES_TOML
from zaulekd_fixture import ROLE_USERS, wait_until

enter_netns()

USER = "sitesui"
PASSWORD = "Sites-Secret-3b9f"
CONFIG = FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n" + RULES_TOML


def plan_png(width=800, height=500):
    """A real RGB PNG drawn like a little plan: paving, two streets, a park."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    paving, street, park = b"\xef\xec\xe4", b"\x9a\x9c\xa3", b"\xa8\xd5\x9c"
    rows = []
    for y in range(height):
        if 220 <= y < 270:
            line = street * width
        else:
            line = (paving * 360 + street * 50 + paving * (width - 410))
            if 40 <= y < 180:
                line = line[:3 * 480] + park * 260 + line[3 * 740:]
        rows.append(b"\x00" + line)
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


def fresh(act, tries=5):
    """act() again when the element it found was redrawn meanwhile (the
    panels redraw as messages come); bounded."""
    for i in range(tries):
        try:
            return act()
        except StaleElementReferenceException:
            if i == tries - 1:
                raise


def choose(drv, select_id, value):
    fresh(lambda: Select(drv.find_element(By.ID, select_id)).select_by_value(value))


def css(drv, sel):
    return drv.find_elements(By.CSS_SELECTOR, sel)


def attrs(drv, sel, attr):
    """The attribute of every element matching `sel`, read in one go (lists
    are redrawn as messages come: no stale element)."""
    return set(drv.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => e.getAttribute(arguments[1]));",
        sel, attr))


def listed_cameras(drv):
    return attrs(drv, "#camera-list li", "data-camera-id")


def grid_cameras(drv):
    return attrs(drv, "#grid .tile[data-camera]", "data-camera")


def alarm_rows(drv):
    return attrs(drv, "#alarm-rows tr[data-alarm-id]", "data-alarm-id")


def marker(drv, box, cam):
    found = css(drv, f'#{box} .marker[data-camera-id="{cam}"]')
    return found[0] if found else None


def marker_state(drv, box, cam):
    """(open alarms, newest alarm's state) of a camera's marker, read in one
    go (the plan is redrawn as messages come: no stale element)."""
    return drv.execute_script(
        "const m = document.querySelector(`#${arguments[0]} .marker[data-camera-id=\"${arguments[1]}\"]`);"
        "return m ? [m.dataset.alarms, m.dataset.alarm || null] : null;", box, cam)


def drag_onto_plan(drv, handle, fx, fy):
    """Drags `handle` (a tray button or a marker) to (fx, fy) of the admin's plan."""
    plan = drv.find_element(By.CSS_SELECTOR, "#plan-edit .plan")
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'})", plan)  # the pointer stays on screen
    w, h = plan.size["width"], plan.size["height"]
    ActionChains(drv).click_and_hold(handle).move_to_element_with_offset(
        plan, int((fx - 0.5) * w), int((fy - 0.5) * h)).release().perform()


def test_sites_filter_plan_and_alarms(make_daemon, tmp_path):
    d = console_daemon(make_daemon, CONFIG)
    h = admin_headers(d)
    admin = ROLE_USERS["administrator"]
    with SimFleet(cameras=3, user=USER, password=PASSWORD) as sim:
        a, b, c = add_recording(d, h, sim, USER, PASSWORD, ["Brama", "Podwórze", "Fontanna"],
                                recording=False)
        plan_file = tmp_path / "plan.png"
        plan_file.write_bytes(plan_png())
        drv = browser(tmp_path)
        shot = Shots(drv, "web_sites")
        try:
            drv.get(d.url("/"))
            text = page_text(drv)
            pl, en = text["pl"], text["en"]
            login(drv, admin, d.passwords[admin])
            # No sites yet: no selector.
            assert not drv.find_element(By.ID, "site-pick").is_displayed()

            # Administration -> Sites and plans: a site created through the form.
            drv.find_element(By.CSS_SELECTOR, '#views button[data-view="admin"]').click()
            drv.find_element(By.CSS_SELECTOR, '#admin-view button[data-tab="sites"]').click()
            wait(drv, "the sites listed",
                 lambda d: d.find_element(By.ID, "site-table").get_attribute("data-loaded") == "true")
            form = drv.find_element(By.ID, "site-form")
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait(drv, "a name asked for", lambda d: "name" in form.get_attribute("data-invalid"))
            assert pl["site.err.name"] in form.text
            form.find_element(By.NAME, "name").send_keys("Zaułek Piekarzy")
            form.find_element(By.NAME, "address").send_keys("ul. Piekarska 3")
            form.find_element(By.NAME, "latitude").send_keys("50,0614")
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait(drv, "both coordinates asked for", lambda d: form.get_attribute("data-invalid") == "longitude")
            form.find_element(By.NAME, "longitude").send_keys("19.9165")
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait(drv, "the site created and opened",
                 lambda d: d.find_element(By.ID, "site-editor").is_displayed())
            sites = requests.get(d.url("/api/v1/sites"), headers=h, timeout=10).json()["sites"]
            (site,) = [s for s in sites if s["name"] == "Zaułek Piekarzy"]
            sid = site["id"]
            assert (site["address"], site["latitude"], site["longitude"]) == ("ul. Piekarska 3", 50.0614, 19.9165)
            assert drv.find_element(By.ID, "site-editor").get_attribute("data-site-id") == sid
            # No plan yet: the plain drawing.
            wait(drv, "the plain drawing", lambda d: d.find_element(By.ID, "plan-edit").get_attribute("data-plan") == "plain")

            # The plan uploaded from a file.
            drv.find_element(By.ID, "plan-file").send_keys(str(plan_file))
            drv.find_element(By.ID, "plan-upload").click()
            wait(drv, "the plan image shown",
                 lambda d: d.find_element(By.ID, "plan-edit").get_attribute("data-plan") == "image"
                 and d.execute_script("const i = document.querySelector('#plan-edit img');"
                                      "return i && i.complete && i.naturalWidth") == 800)
            r = requests.get(d.url(f"/api/v1/sites/{sid}"), headers=h, timeout=10)
            assert (r.json()["plan"]["width"], r.json()["plan"]["height"]) == (800, 500), r.text

            # Two cameras join the site, then are dragged onto the plan.
            for cam in (a, b):
                choose(drv, "site-camera-add", cam)
                wait(drv, f"{cam} in the tray",
                     lambda d, cam=cam: css(d, f'#plan-tray button[data-camera-id="{cam}"]'))
            for cam, (fx, fy) in ((a, (0.3, 0.25)), (b, (0.7, 0.75))):
                fresh(lambda cam=cam, fx=fx, fy=fy: drag_onto_plan(
                    drv, drv.find_element(By.CSS_SELECTOR, f'#plan-tray button[data-camera-id="{cam}"]'), fx, fy))

                def placed(cam=cam, fx=fx, fy=fy):
                    got = requests.get(d.url(f"/api/v1/cameras/{cam}"), headers=h, timeout=10).json()
                    return (got["site_id"] == sid and got["plan_x"] is not None
                            and abs(got["plan_x"] - fx) < 0.03 and abs(got["plan_y"] - fy) < 0.03)
                wait_until(f"{cam} placed at {fx}, {fy}", placed, 15, step=0.1)
                wait(drv, f"{cam}'s marker", lambda d, cam=cam: marker(d, "plan-edit", cam))
            assert drv.find_element(By.ID, "plan-tray").get_attribute("data-unplaced") == "0"
            # A marker dragged again moves.
            fresh(lambda: drag_onto_plan(drv, marker(drv, "plan-edit", a), 0.2, 0.3))
            wait_until("a moved", lambda: abs(requests.get(d.url(f"/api/v1/cameras/{a}"), headers=h,
                                                           timeout=10).json()["plan_x"] - 0.2) < 0.03, 15, step=0.1)
            shot("admin-site-plan")

            # A second site with the third camera, over REST: the list follows.
            r = requests.post(d.url("/api/v1/sites"), headers=h, json={"name": "Park Miejski"}, timeout=10)
            assert r.status_code == 201, r.text
            park = r.json()["id"]
            r = requests.patch(d.url(f"/api/v1/cameras/{c}"), headers=h, json={"site_id": park}, timeout=10)
            assert r.status_code == 200, r.text
            wait(drv, "the second site listed (hub message)",
                 lambda d: css(d, f'#site-rows tr[data-site-id="{park}"]'))

            # The live view: the site selector narrows list, grid and alarms.
            drv.find_element(By.CSS_SELECTOR, '#views button[data-view="live"]').click()
            wait(drv, "the site selector with both sites",
                 lambda d: d.find_element(By.ID, "site-pick").is_displayed()
                 and {sid, park} <= attrs(d, "#site-filter option", "value"))
            assert listed_cameras(drv) == {a, b, c}
            choose(drv, "site-filter", sid)
            wait(drv, "the list and the grid narrowed",
                 lambda d: listed_cameras(d) == {a, b} and grid_cameras(d) == {a, b})
            wait(drv, "the plan under the grid",
                 lambda d: d.find_element(By.ID, "plan-view").is_displayed()
                 and d.find_element(By.ID, "plan").get_attribute("data-markers") == "2")
            assert "Zaułek Piekarzy" in drv.find_element(By.ID, "plan-title").text

            # An alarm in the other site: counted, not listed, no marker changes.
            t0 = time.monotonic()
            sim.post_event(2, "motion", True)
            wait(drv, "the other site's alarm counted",
                 lambda d: d.find_element(By.ID, "alarms-elsewhere").get_attribute("data-count") == "1")
            assert alarm_rows(drv) == set()
            assert drv.find_element(By.ID, "alarms-elsewhere").is_displayed()
            # Motion in this site: listed, and on the plan at once.
            sim.post_event(0, "motion", True)
            wait(drv, "the alarm on a's marker", lambda d: marker_state(d, "plan", a) == ["1", "new"])
            print(f"motion -> marker: {time.monotonic() - t0:.2f} s")
            assert marker_state(drv, "plan", b) == ["0", None]
            open_a = [x for x in requests.get(d.url("/api/v1/alarms?state=open"), headers=h, timeout=10)
                      .json()["alarms"] if x["camera_id"] == a]
            assert len(open_a) == 1, open_a
            wait(drv, "only this site's alarm listed", lambda d: alarm_rows(d) == {open_a[0]["id"]})
            drv.execute_script("arguments[0].scrollIntoView({block: 'center'})", drv.find_element(By.ID, "plan-view"))
            shot("live-site-plan-alarm")

            # Resolved (over REST): the marker clears.
            r = requests.post(d.url(f"/api/v1/alarms/{open_a[0]['id']}/resolve"), headers=h,
                              json={"note": "sprawdzone na planie"}, timeout=10)
            assert r.status_code == 200, r.text
            wait(drv, "the marker cleared", lambda d: marker_state(d, "plan", a) == ["0", None])

            # One tile: a click on b's marker brings b into it.
            drv.find_element(By.CSS_SELECTOR, '#grid-view button.layout[data-layout="1"]').click()
            wait(drv, "one tile", lambda d: len(css(d, "#grid .tile")) == 1)
            first = grid_cameras(drv)
            fresh(lambda: marker(drv, "plan", b if first == {a} else a).click())
            wait(drv, "the picked camera in the tile",
                 lambda d: grid_cameras(d) == ({b} if first == {a} else {a}))

            # Camera c moved into this site over REST: listed without a reload.
            r = requests.patch(d.url(f"/api/v1/cameras/{c}"), headers=h,
                               json={"site_id": sid, "plan_x": 0.5, "plan_y": 0.5}, timeout=10)
            assert r.status_code == 200, r.text
            wait(drv, "c joined the site live",
                 lambda d: listed_cameras(d) == {a, b, c}
                 and d.find_element(By.ID, "plan").get_attribute("data-markers") == "3"
                 and d.find_element(By.ID, "alarms-elsewhere").get_attribute("data-count") == "0")
            open_c = [x["id"] for x in requests.get(d.url("/api/v1/alarms?state=open"), headers=h, timeout=10)
                      .json()["alarms"] if x["camera_id"] == c]
            assert len(open_c) == 1, open_c
            wait(drv, "c's alarm listed now", lambda d: open_c[0] in alarm_rows(d))

            # Remembered across a reload; English.
            drv.refresh()
            wait(drv, "the console again", lambda d: d.find_element(By.ID, "console-view").is_displayed()
                 and d.find_element(By.ID, "site-filter").get_attribute("data-site") == sid
                 and d.find_element(By.ID, "plan").get_attribute("data-markers") == "3")
            assert listed_cameras(drv) == {a, b, c}
            drv.find_element(By.ID, "lang-en").click()
            wait(drv, "English", lambda d: d.find_element(By.ID, "plan-title").text
                 == en["plan.title"].replace("{name}", "Zaułek Piekarzy"))
            opts = drv.execute_script("return [...document.querySelectorAll('#site-filter option')].map((o) => o.text)")
            assert opts[0] == en["site.all"] and opts[-1] == en["site.none"], opts
            choose(drv, "site-filter", "")
            wait(drv, "every camera again", lambda d: not d.find_element(By.ID, "plan-view").is_displayed()
                 and len(listed_cameras(d)) == 3)
            drv.find_element(By.ID, "lang-pl").click()

            # The administrator's plan with the three cameras, for the docs.
            drv.find_element(By.CSS_SELECTOR, '#views button[data-view="admin"]').click()
            drv.find_element(By.CSS_SELECTOR, '#admin-view button[data-tab="sites"]').click()
            row = wait(drv, "the site's row", lambda d: css(d, f'#site-rows tr[data-site-id="{sid}"]'))[0]
            row.find_element(By.CSS_SELECTOR, "button.open").click()
            wait(drv, "three markers", lambda d: d.find_element(By.ID, "plan-edit").get_attribute("data-markers") == "3")
            # The park, now empty, is deleted (twice asked).
            prow = css(drv, f'#site-rows tr[data-site-id="{park}"]')[0]
            btn = prow.find_element(By.CSS_SELECTOR, "button.delete")
            btn.click()
            wait(drv, "the button asks to be sure", lambda d: btn.get_attribute("data-armed") == "true")
            btn.click()
            wait(drv, "the park gone", lambda d: not css(d, f'#site-rows tr[data-site-id="{park}"]'))
            assert requests.get(d.url(f"/api/v1/sites/{park}"), headers=h, timeout=10).status_code == 404
            # Edit: the form comes filled in; the new address is saved (PATCH).
            css(drv, f'#site-rows tr[data-site-id="{sid}"] button.edit')[0].click()
            form = drv.find_element(By.ID, "site-form")
            wait(drv, "the form filled in", lambda d: form.find_element(By.NAME, "name").get_attribute("value")
                 == "Zaułek Piekarzy" and form.find_element(By.NAME, "latitude").get_attribute("value") == "50.0614")
            form.find_element(By.NAME, "address").clear()
            form.find_element(By.NAME, "address").send_keys("ul. Piekarska 5")
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait_until("the address changed", lambda: requests.get(d.url(f"/api/v1/sites/{sid}"), headers=h,
                                                                   timeout=10).json()["address"] == "ul. Piekarska 5", 15, step=0.1)
            r = requests.get(d.url(f"/api/v1/sites/{sid}"), headers=h, timeout=10).json()
            assert (r["name"], r["latitude"], len(r["cameras"])) == ("Zaułek Piekarzy", 50.0614, 3), r
            wait(drv, "three markers again", lambda d: d.find_element(By.ID, "plan-edit").get_attribute("data-markers") == "3")
            wait(drv, "the form back to a new site", lambda d: d.find_element(By.ID, "site-form-title").text == pl["site.new"])
            shot("admin-sites")
            log = [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]
            assert not [e for e in log if "Uncaught" in e["message"]], log
        finally:
            drv.quit()
    print(f"screenshots: {shot.dir}")
