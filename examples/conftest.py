"""The example suite's collection: user_project/ is a project of its own (its
pyproject.toml, its [tool.hil] table), run from its own folder, not by
`pytest examples`."""

collect_ignore = ["user_project"]
