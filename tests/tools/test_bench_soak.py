"""omnirt bench soak refuses settings it cannot run in one line, before it starts a server."""

import pytest

from omnirt.tools.bench import soak
from omnirt.tools.cli import build_parser


@pytest.mark.parametrize("argv", [["--talkers", "-1"], ["--minutes", "0"], ["--reconnect-s", "0"],
                                  ["--sessions", "4", "--talkers", "4"]])
def test_impossible_settings_are_one_line(argv):
    args = build_parser(["bench", "soak"]).parse_args(["bench", "soak", *argv])
    with pytest.raises(SystemExit) as e:
        soak.run(args, None)
    assert str(e.value).startswith("omnirt: error: --") and "\n" not in str(e.value)
