"""The README's example runs as written and grants what it says."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import cast

from smartsessions import SessionDetails, session_details_from_json
from smartsessions.policies import decode_action_config


def test_readme_example_runs(capsys: object) -> None:
    text = (Path(__file__).parents[2] / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    details = namespace["details"]
    assert isinstance(details, list)
    [one] = details
    assert isinstance(one, SessionDetails)
    # the README's own import, read back from the namespace its code ran in
    to_json = cast(Callable[[list[SessionDetails]], str], namespace["session_details_to_json"])
    assert session_details_from_json(to_json(details)) == [one]
    [action] = one.enable_session_data.enable_session.session_to_enable.actions
    config = decode_action_config(action.action_policies[0].init_data)
    assert config.param_rules.length == 2
    assert int.from_bytes(config.param_rules.rules[1].ref, "big") == 100 * 10**6
    assert config.param_rules.rules[1].usage.limit == 1_000 * 10**6
