"""HELD-OUT desk scenarios of `omnirt bench desk --scenarios heldout`: written together with DEV
(tools/bench/desk_scenarios.py), before any agent change, and run only to MEASURE. No rule, phrasing or test in
agents/ is written from these screens or their runs; a failure they show is fixed, and shown fixed, on a DEV screen.
"""

from __future__ import annotations

import json

from omnirt.tools.bench.desk_scenarios import DIALOG_CSS, SWITCH_CSS, SWITCH_JS, Scenario, next_month_day


def _calendar() -> Scenario:
    body = ("<style>body{margin:0;font:15px 'Noto Sans',sans-serif;background:#eef3f8;color:#223}"
            ".panel{position:absolute;left:380px;top:90px;width:520px;background:#fff;padding:26px;border-radius:12px}"
            "input{padding:9px;font-size:15px;width:220px;border:1px solid #99a;border-radius:6px}"
            "#cal{display:none;margin-top:8px;border:1px solid #ccd;width:300px;padding:8px;background:#fff}"
            "#cal.open{display:block}#cal table{width:100%;text-align:center}#cal td{padding:6px;cursor:pointer}"
            "#cal td:hover{background:#dbe7ff}.hd{display:flex;justify-content:space-between;padding:4px}"
            ".hd button{border:0;background:none;font-size:18px;cursor:pointer}"
            "#book{margin-top:20px;padding:10px 26px;background:#0b7285;color:#fff;border:0;border-radius:6px;"
            "font-size:15px}</style><div class=panel><h2>Book an appointment</h2><label>Appointment date<br>"
            "<input id=when readonly placeholder='Pick a date'></label><div id=cal><div class=hd>"
            "<button id=prev>&lsaquo;</button><b id=month></b><button id=next>&rsaquo;</button></div>"
            "<table id=days></table></div><br><button id=book>Book</button></div>")
    # (`when` by id, not as a window global: recent Chromium gives every window a when() method, which hides it)
    script = """const when = document.getElementById('when'); let shown = new Date(); shown.setDate(1);
const pad = n => String(n).padStart(2, '0');
function draw() { month.textContent = shown.toLocaleString('en-GB', {month: 'long', year: 'numeric'});
  const first = (shown.getDay() + 6) % 7, n = new Date(shown.getFullYear(), shown.getMonth() + 1, 0).getDate();
  let html = '<tr><th>Mo</th><th>Tu</th><th>We</th><th>Th</th><th>Fr</th><th>Sa</th><th>Su</th></tr><tr>';
  for (let i = 0; i < first; i++) html += '<td></td>';
  for (let d = 1; d <= n; d++) { html += `<td data-d=${d}>${d}</td>`; if ((first + d) % 7 === 0) html += '</tr><tr>'; }
  days.innerHTML = html + '</tr>';
  for (const td of days.querySelectorAll('td[data-d]')) td.onclick = () => {
    when.value = `${shown.getFullYear()}-${pad(shown.getMonth() + 1)}-${pad(td.dataset.d)}`;
    cal.classList.remove('open'); };
}
when.onclick = () => { cal.classList.add('open'); draw(); };
prev.onclick = () => { shown.setMonth(shown.getMonth() - 1); draw(); };
next.onclick = () => { shown.setMonth(shown.getMonth() + 1); draw(); };
book.onclick = () => act('book ' + when.value);"""
    want = next_month_day(21)
    return Scenario("date-picker", "Book the appointment for the 21st of next month", body, script,
                    {"fields": {"when": want}, "actions": [f"book {want}"]}, covers="date picker, month navigation")


def _signup_placeholders() -> Scenario:
    body = ("<style>body{margin:0;font:16px 'Liberation Sans',sans-serif;background:#16161d;color:#eee}"
            ".box{position:absolute;left:440px;top:150px;width:400px}"
            "input{display:block;width:100%;padding:12px;margin-bottom:14px;background:#25252f;color:#fff;"
            "border:1px solid #4a4a5a;border-radius:8px;font-size:16px}"
            "button{width:100%;padding:12px;background:#f76707;color:#fff;border:0;border-radius:8px;font-size:16px}"
            "</style><div class=box><h1>Create your account</h1><input id=fullname placeholder='Full name'>"
            "<input id=mail placeholder='Email address'><input id=nick placeholder='Nickname (optional)'>"
            "<button id=create>Create account</button></div>")
    return Scenario("signup-placeholders", "Create an account for Lin Yu with the email lin@yu.net", body,
                    "create.onclick = () => act('create');",
                    {"fields": {"fullname": "Lin Yu", "mail": "lin@yu.net"}, "actions": ["create"]},
                    covers="placeholder-only fields on a dark theme")


def _backup_switch() -> Scenario:
    body = ("<style>body{margin:0;font:14px Tahoma,sans-serif;background:#fff;color:#333}"
            ".top{background:#e7f5ff;padding:18px 40px;font-size:18px}.sec{margin:24px 40px;width:640px}"
            ".line{display:flex;justify-content:space-between;align-items:center;padding:12px 0;"
            f"border-top:1px solid #dde}}small{{color:#889;display:block}}{SWITCH_CSS}</style>"
            "<div class=top>Storage</div><div class=sec><h3>Backups</h3>"
            "<div class=line><div>Automatic backups<small>Copy your files every night</small></div>"
            "<span role=switch id=autob class=switch aria-checked=false></span></div>"
            "<div class=line><div>Keep old versions<small>Up to 30 days</small></div>"
            "<span role=switch id=versions class=switch aria-checked=true></span></div>"
            "<div class=line><div>Backup over mobile data</div>"
            "<span role=switch id=mobile class=switch aria-checked=false></span></div></div>")
    return Scenario("backup-switch", "Enable automatic backups", body, SWITCH_JS,
                    {"fields": {"autob": True}}, covers="a switch that applies at once (no Save)")


def _download_menu() -> Scenario:
    body = ("<style>body{margin:0;font:14px Arial,sans-serif;background:#f8f9fa}"
            ".tool{padding:10px 30px;background:#fff;border-bottom:1px solid #ddd}"
            ".tool button{padding:7px 14px;margin-right:8px;border:1px solid #bbb;background:#fff;border-radius:4px}"
            ".menu{display:none;position:absolute;background:#fff;border:1px solid #bbb;width:180px;"
            "box-shadow:0 4px 10px rgba(0,0,0,.15)}.menu.open{display:block}"
            ".menu div{padding:8px 12px}.menu div:hover{background:#eef}table{margin:30px;border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:6px 16px}</style><div class=tool><button id=refresh>Refresh"
            "</button><button id=dl>Download &#9662;</button><button id=share>Share</button></div>"
            "<div class=menu id=dlmenu style='left:118px;top:48px'><div>Excel workbook</div><div>CSV file</div>"
            "<div>PDF document</div></div><table><tr><th>Quarter</th><th>Revenue</th></tr><tr><td>Q1</td>"
            "<td>1.2 M</td></tr><tr><td>Q2</td><td>1.5 M</td></tr><tr><td>Q3</td><td>1.1 M</td></tr></table>")
    script = """dl.onclick = () => dlmenu.classList.toggle('open');
refresh.onclick = () => act('refresh'); share.onclick = () => act('share');
for (const d of dlmenu.querySelectorAll('div')) d.onclick = () => { act('download ' + d.textContent);
  dlmenu.classList.remove('open'); };"""
    return Scenario("download-menu", "Download the report as a CSV file", body, script,
                    {"actions": ["download CSV file"]}, covers="a toolbar drop-down menu")


def _archive_row() -> Scenario:
    mails = [("Priya Shah", "Quarterly numbers"), ("Tom Becker", "Lunch on Friday?"), ("Priya Shaw", "Invoice 88"),
             ("Olu Ade", "Design review")]
    rows = "".join(f"<div class=mail data-from='{f}'><b>{f}</b><span>{s}</span><button class=arch title=Archive>"
                   f"&#128230;</button></div>" for f, s in mails)
    body = ("<style>body{margin:0;font:14px 'Segoe UI',Arial,sans-serif;background:#fafafa}"
            ".mail{display:flex;gap:30px;align-items:center;width:760px;margin-left:80px;padding:12px;"
            "border-bottom:1px solid #e5e5e5;background:#fff}.mail b{width:160px}.mail span{flex:1}"
            ".arch{border:0;background:none;font-size:18px}" + DIALOG_CSS +
            ".dialog button{padding:8px 18px;margin-right:8px}</style><h2 style='margin-left:80px'>Inbox</h2>" + rows
            + "<div class=veil id=veil><div class=dialog><p>Archive this conversation?</p>"
            "<button id=ok>Archive</button><button id=cancel>Cancel</button></div></div>")
    script = f"""let pending = null; const NAMES = {json.dumps([f for f, _ in mails])};
for (const b of document.querySelectorAll('.arch')) b.onclick = () => {{ pending = b.closest('.mail');
  veil.classList.add('open'); }};
ok.onclick = () => {{ act('archive ' + pending.dataset.from); pending.remove(); veil.classList.remove('open'); }};
cancel.onclick = () => veil.classList.remove('open');"""
    return Scenario("archive-row", "Archive the email from Priya Shah", body, script,
                    {"actions": ["archive Priya Shah"]}, covers="icon-only row action, confirmation")


HELDOUT: tuple[Scenario, ...] = (_calendar(), _signup_placeholders(), _backup_switch(), _download_menu(),
                                 _archive_row())
