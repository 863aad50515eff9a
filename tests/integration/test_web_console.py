"""The web console's alarm panel in a real browser: Debian's Chromium,
headless, driven by Selenium, against the real zaulekd and the real simulator
(set up as in test_alarms.py, in this process's own network namespace, so
everything stays on loopback). An operator logs in through the page's form;
motion at the simulated camera shows up as a live row; Acknowledge and
Resolve (with a note) clicked in the page change the alarm as the REST API
reads it back; a repeat folded into it, a second alarm and another user's
acknowledgement over REST appear without a reload; a resolve without a note
shows the server's refusal; when the server closes the page's WebSocket, what
changed meanwhile shows after it reconnects; English switches the panel; an
investigator sees
the same open alarms as REST lists them and the server's 403 when trying to
acknowledge. Every wait is bounded; times are printed, never asserted."""
import time

import pytest
import requests
from selenium.webdriver.common.by import By

import console_browser
from camera_helpers import enter_netns
from console_browser import login, page_text, wait
from simfleet import SimFleet
from test_alarms import PASSWORD, USER, start_with_camera
from zaulekd_fixture import ROLE_USERS, wait_until

enter_netns()


@pytest.fixture
def browser(tmp_path):
    drv = console_browser.browser(tmp_path, size=(1400, 1000))
    yield drv
    drv.quit()


def rows(drv):
    return drv.find_elements(By.CSS_SELECTOR, "#alarm-rows tr[data-alarm-id]")


def row(drv, alarm_id):
    found = drv.find_elements(By.CSS_SELECTOR, f'#alarm-rows tr[data-alarm-id="{alarm_id}"]')
    return found[0] if found else None


def row_is(alarm_id, **attrs):
    """A wait condition: the alarm's row with these data-* attributes."""
    def cond(drv):
        tr = row(drv, alarm_id)
        return tr if tr and all(tr.get_attribute(f"data-{k}") == str(v)
                                for k, v in attrs.items()) else None
    return cond


def cell(tr, name):
    return tr.find_element(By.CSS_SELECTOR, f"td.alarm-{name}").text


def rest_alarm(d, headers, alarm_id, until=lambda a: True, limit_s=5.0):
    """The alarm as GET /api/v1/alarms lists it, once `until` holds (bounded)."""
    deadline = time.monotonic() + limit_s
    while True:
        r = requests.get(d.url("/api/v1/alarms"), headers=headers, params={"limit": 100},
                         timeout=10)
        assert r.status_code == 200, r.text
        found = [a for a in r.json()["alarms"] if a["id"] == alarm_id]
        if (found and until(found[0])) or time.monotonic() > deadline:
            assert found, f"alarm {alarm_id} not listed: {r.json()}"
            return found[0]
        time.sleep(0.05)


def open_ids(d, headers):
    r = requests.get(d.url("/api/v1/alarms"), headers=headers, params={"state": "open"},
                     timeout=10)
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["alarms"]]


def check_row(drv, a, text):
    """The alarm's row shows what the server says of it, in the page's language."""
    tr = row(drv, a["id"])
    assert tr is not None, a
    assert tr.get_attribute("data-state") == a["state"], a
    assert a["camera_id"] in cell(tr, "camera").split("\n"), (cell(tr, "camera"), a)
    assert cell(tr, "kind") == text["kind." + a["kind"]], (cell(tr, "kind"), a)
    assert str(a["priority"]) in cell(tr, "priority"), (cell(tr, "priority"), a)
    assert cell(tr, "count") == str(a["count"]), (cell(tr, "count"), a)
    year = drv.execute_script("return String(new Date(arguments[0]).getFullYear())",
                              a["first_time"])
    assert year in cell(tr, "time"), (cell(tr, "time"), a)  # the local year, at least
    state = cell(tr, "state")
    if a["state"] == "new":
        assert state == text["state.new"], (state, a)
    elif a["state"] == "acknowledged":
        assert a["acknowledged_by"] in state, (state, a)
    else:
        assert a["resolved_by"] in state and a["note"] in state, (state, a)
    if a.get("assigned_to") and a["state"] != "resolved":
        assert text["state.assigned"].replace("{user}", a["assigned_to"]) in state, (state, a)
    return tr


def test_operator_handles_alarms_in_the_browser(make_daemon, browser):
    t0 = time.monotonic()
    drv = browser
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        d, cam_id = start_with_camera(make_daemon, sim)
        operator, admin, investigator = (ROLE_USERS[r] for r in
                                         ("operator", "administrator", "investigator"))
        op_h = d.bearer(operator)
        t_ready = time.monotonic()

        drv.get(d.url("/"))
        text = page_text(drv)  # the page's own labels
        pl, en = text["pl"], text["en"]
        login(drv, operator, d.passwords[operator])
        assert drv.find_element(By.ID, "status-role").text == pl["role.operator"]
        assert open_ids(d, op_h) == [] and rows(drv) == []
        # The camera is not recorded (mode off): its tile says there is no
        # live view rather than trying (the server would answer 409).
        tile = wait(drv, "the camera's tile", lambda d: d.find_elements(
            By.CSS_SELECTOR, f'#grid .tile[data-camera="{cam_id}"][data-state="not_recorded"]'))[0]
        assert pl["tile.not_recorded"] in tile.text, tile.text
        assert drv.find_element(By.ID, "alarms-empty").text == pl["alarms.empty"]

        # Motion at the camera: the alarm appears without a reload.
        t_fire = time.monotonic()
        sim.post_event(0, "motion", True)
        tr = wait(drv, "the motion alarm in the page", lambda d: (rows(d) or [None])[0])
        print(f"sim motion -> row in the page: {(time.monotonic() - t_fire) * 1000:.0f} ms")
        first = tr.get_attribute("data-alarm-id")
        a = rest_alarm(d, op_h, first)
        assert (a["camera_id"], a["kind"], a["state"], a["count"]) == (cam_id, "motion", "new", 1)
        check_row(drv, a, pl)

        # Acknowledge, clicked in the page: REST says by this operator.
        tr.find_element(By.CSS_SELECTOR, "button.ack").click()
        tr = wait(drv, "the alarm acknowledged in the page", row_is(first, state="acknowledged"))
        a = rest_alarm(d, op_h, first)
        assert a["state"] == "acknowledged" and a["acknowledged_by"] == operator, a
        assert a["acknowledged_at"] is not None, a
        check_row(drv, a, pl)
        assert not tr.find_element(By.CSS_SELECTOR, "button.ack").is_displayed()

        # A repeat folds into it: the count grows on the page.
        sim.post_event(0, "motion", False)
        sim.post_event(0, "motion", True)
        wait(drv, "the folded repeat in the page", row_is(first, count=2))
        a = rest_alarm(d, op_h, first, lambda a: a["count"] == 2)
        assert a["count"] == 2 and a["state"] == "acknowledged", a
        check_row(drv, a, pl)

        # A second alarm goes to the top; another user acknowledges it over
        # REST, and the page shows it live.
        sim.post_event(0, "tamper", True)
        tr = wait(drv, "a second alarm at the top",
                  lambda d: [r for r in rows(d)[:1] if r.get_attribute("data-alarm-id") != first])
        second = tr[0].get_attribute("data-alarm-id")
        assert [r.get_attribute("data-alarm-id") for r in rows(drv)] == [second, first]
        assert open_ids(d, op_h) == [second, first]
        check_row(drv, rest_alarm(d, op_h, second), pl)
        r = requests.post(d.url(f"/api/v1/alarms/{second}/ack"), headers=d.bearer(admin),
                          timeout=10)
        assert r.status_code == 200, r.text
        wait(drv, "the other user's acknowledgement in the page",
             row_is(second, state="acknowledged"))
        tr = check_row(drv, r.json(), pl)
        assert admin in cell(tr, "state")

        # Take it, clicked in the page: the alarm is assigned to this operator.
        take = tr.find_element(By.CSS_SELECTOR, "button.take")
        assert take.is_displayed() and take.text == pl["alarms.take"]
        take.click()
        assigned = pl["state.assigned"].replace("{user}", operator)
        wait(drv, "the alarm assigned in the page",
             lambda d: assigned in cell(row(d, second), "state").split("\n"))
        a = rest_alarm(d, op_h, second, lambda a: a["assigned_to"] == operator)
        assert (a["assigned_to"], a["state"]) == (operator, "acknowledged"), a
        assert a["assigned_at"] is not None, a
        check_row(drv, a, pl)
        assert not row(drv, second).find_element(By.CSS_SELECTOR, "button.take").is_displayed()

        # Resolve without a note: the server refuses, the page shows its words.
        tr = row(drv, first)
        tr.find_element(By.CSS_SELECTOR, "button.resolve").click()
        err = wait(drv, "the refusal of a resolve without a note",
                   lambda d: row(d, first).find_element(By.CSS_SELECTOR, "p.error").text)
        refused = requests.post(d.url(f"/api/v1/alarms/{first}/resolve"), headers=op_h,
                                json={"note": ""}, timeout=10)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["message"] in err and "400" in err, err
        assert rest_alarm(d, op_h, first)["state"] == "acknowledged"

        # Resolve with a note.
        note = "Patrol na miejscu; fałszywy alarm (kot w zaułku)"
        tr.find_element(By.CSS_SELECTOR, "input.note").send_keys(note)
        tr.find_element(By.CSS_SELECTOR, "button.resolve").click()
        tr = wait(drv, "the alarm resolved in the page", row_is(first, state="resolved"))
        a = rest_alarm(d, op_h, first)
        assert (a["state"], a["resolved_by"], a["note"]) == ("resolved", operator, note), a
        check_row(drv, a, pl)
        assert tr.find_element(By.CSS_SELECTOR, "p.error").text == ""
        assert not tr.find_element(By.CSS_SELECTOR, "form.resolve").is_displayed()
        assert drv.find_element(By.ID, "alarms-count").text == f"({len(open_ids(d, op_h))})"

        # The server closes the page's WebSocket (an administrator changed the
        # operator's cameras: docs/administrators.md); what happens while it
        # is away shows once it has reconnected (resume_gap, then the REST
        # list again): the second alarm resolved by another user, a new one.
        adm_h = d.bearer(admin)
        users = requests.get(d.url("/api/v1/users"), headers=adm_h, timeout=10).json()["users"]
        uid = next(u["id"] for u in users if u["name"] == operator)
        r = requests.patch(d.url(f"/api/v1/users/{uid}"), headers=adm_h,
                           json={"cameras": [cam_id]}, timeout=10)
        assert r.status_code == 200, r.text
        wait(drv, "the page noticing the closed WebSocket",
             lambda d: d.find_element(By.ID, "status-ws").get_attribute("data-state") == "closed")
        r = requests.post(d.url(f"/api/v1/alarms/{second}/resolve"), headers=adm_h,
                          json={"note": "camera cleaned"}, timeout=10)
        assert r.status_code == 200, r.text
        sim.post_event(0, "motion", True)  # after the resolve of the first: a new alarm
        gap = wait_until("a new alarm after motion", lambda: [
            i for i in open_ids(d, op_h) if i not in (first, second)], console_browser.WAIT_S)[0]
        away = drv.find_element(By.ID, "status-ws").get_attribute("data-state") == "closed"
        print(f"changes made while the page was {'away' if away else 'back already'}")
        wait(drv, "the page reconnected",
             lambda d: d.find_element(By.ID, "status-ws").get_attribute("data-state") == "open")
        wait(drv, "the changes made while away", lambda d: row_is(second, state="resolved")(d)
             and row_is(gap, state="new")(d))
        check_row(drv, rest_alarm(d, op_h, second), pl)
        check_row(drv, rest_alarm(d, op_h, gap), pl)
        assert [r.get_attribute("data-alarm-id") for r in rows(drv)] == [gap, second, first]

        # English: the panel's headings and rows switch.
        heads = drv.find_elements(By.CSS_SELECTOR, "#alarms-view h2 [data-i18n], #alarms th")
        before = {h.get_attribute("data-i18n"): h.text for h in heads}
        assert len(before) == 8 and all(before[k] == pl[k] for k in before), before
        drv.find_element(By.ID, "lang-en").click()
        wait(drv, "the page in English",
             lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
        after = {h.get_attribute("data-i18n"): h.text for h in heads}
        for key in before:
            assert after[key] == en[key] and after[key] != before[key], (key, before, after)
        for alarm_id in (gap, second, first):
            check_row(drv, rest_alarm(d, op_h, alarm_id), en)
        assert drv.find_element(By.ID, "status-role").text == en["role.operator"]

        # An investigator sees what REST lists as open; acknowledging is the
        # server's to refuse, and the page says so.
        drv.find_element(By.ID, "logout").click()
        login(drv, investigator, d.passwords[investigator])
        inv_h = d.bearer(investigator)
        assert [r.get_attribute("data-alarm-id") for r in rows(drv)] == open_ids(d, inv_h)
        sim.post_event(0, "tamper", True)  # the second is resolved: a new alarm
        tr = wait(drv, "a new tamper alarm at the top, live",
                  lambda d: [r for r in rows(d)[:1]
                             if r.get_attribute("data-alarm-id") not in (first, second, gap)])[0]
        third = tr.get_attribute("data-alarm-id")
        assert [r.get_attribute("data-alarm-id") for r in rows(drv)] == open_ids(d, inv_h)
        check_row(drv, rest_alarm(d, inv_h, third), en)
        tr.find_element(By.CSS_SELECTOR, "button.ack").click()
        err = wait(drv, "the refusal of an investigator's ack",
                   lambda d: row(d, third).find_element(By.CSS_SELECTOR, "p.error").text)
        refused = requests.post(d.url(f"/api/v1/alarms/{third}/ack"), headers=inv_h, timeout=10)
        assert refused.status_code == 403, refused.text
        assert err.startswith(en["err.403"]) and "403" in err, err
        assert refused.json()["error"]["message"] in err, err
        assert rest_alarm(d, inv_h, third)["state"] == "new"

        # Nothing blocked by the Content-Security-Policy, no script errors.
        log = drv.get_log("browser")
        bad = [e for e in log if "Content Security Policy" in e["message"]
               or "Uncaught" in e["message"]]
        assert not bad, bad
    print(f"daemon + simulator + camera: {t_ready - t0:.1f} s; "
          f"browser part: {time.monotonic() - t_ready:.1f} s")
