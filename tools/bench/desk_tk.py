"""The native desk scenario: a Tk preferences window (not a web page) that judges itself as the desk pages do.

`python -m omnirt.tools.bench.desk_tk WANT_JSON` opens a 1280x800 window at the top left of $DISPLAY: a user-name
field with its label beside it, two check buttons, Apply and Cancel. Its window title (which no window manager
draws, so the agent never sees it) is "desk pass" once the fields hold the wanted values, every other control
holds what it held at the start and the buttons pressed are exactly the wanted ones; else "desk fail: WHY".
"""

from __future__ import annotations

import json
import sys
import tkinter as tk


def verdict(values: dict[str, str], initial: dict[str, str], want: dict, actions: list[str]) -> str:
    """The same rule as the pages' script (tools/bench/desk_scenarios.py VERDICT_JS): named fields hold the wanted
    value (trimmed, case-blind), the rest what they held, and the actions are the wanted ones."""
    fields = {k: str(v).lower() for k, v in want.get("fields", {}).items()}
    for name, value in values.items():
        if value.strip().lower() != fields.get(name, initial[name]):
            return f"fail: {name}={value}"
    if actions != want.get("actions", []):
        return f"fail: actions {actions}"
    return "pass"


def main(want: dict) -> None:
    root = tk.Tk()
    root.geometry("1280x800+0+0")
    root.configure(bg="#e6e6e6")
    font = ("DejaVu Sans", 13)
    user, remember, beta = tk.StringVar(root, ""), tk.BooleanVar(root, False), tk.BooleanVar(root, False)
    actions: list[str] = []

    def values() -> dict[str, str]:
        return {"user": user.get(), "remember": str(remember.get()).lower(), "beta": str(beta.get()).lower()}

    initial = values()
    tk.Label(root, text="Preferences", font=("DejaVu Sans", 18, "bold"), bg="#e6e6e6").place(x=80, y=60)
    tk.Label(root, text="User name", font=font, bg="#e6e6e6").place(x=80, y=140)
    tk.Entry(root, textvariable=user, font=font, width=24).place(x=220, y=138)
    tk.Checkbutton(root, text="Remember me", variable=remember, font=font, bg="#e6e6e6").place(x=80, y=200)
    tk.Checkbutton(root, text="Beta features", variable=beta, font=font, bg="#e6e6e6").place(x=80, y=240)
    tk.Button(root, text="Apply", font=font, width=8, command=lambda: actions.append("apply")).place(x=80, y=310)
    tk.Button(root, text="Cancel", font=font, width=8, command=lambda: actions.append("cancel")).place(x=200, y=310)

    def tick() -> None:
        root.title("desk " + verdict(values(), initial, want, actions))
        root.after(100, tick)

    tick()
    root.mainloop()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
